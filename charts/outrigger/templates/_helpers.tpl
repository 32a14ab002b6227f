{{/* Names and labels of the resources this chart renders itself. */}}

{{- define "outrigger.exampleName" -}}
{{- default .Release.Name .Values.example.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "outrigger.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: outrigger
{{- end -}}

{{/* The example workload's selector labels. */}}
{{- define "outrigger.exampleSelector" -}}
app: {{ include "outrigger.exampleName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The example's proxy ConfigMap name. */}}
{{- define "outrigger.exampleConfigMap" -}}
{{- default (printf "%s-outrigger-config" (include "outrigger.exampleName" .)) .Values.sidecar.existingConfigMap -}}
{{- end -}}
