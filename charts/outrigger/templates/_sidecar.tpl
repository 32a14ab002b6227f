{{- /*
The sidecar helpers: add Outrigger to a pod spec without a control plane. Use them from this chart
or from your own chart with outrigger as a dependency (README.md, "Your own Deployment"). Each takes
a dict:
  values     this chart's values (.Values here, .Values.outrigger in a parent chart)
  configMap  the ConfigMap of Istio YAML the proxy reads (outrigger.sidecar.configMap renders one)
  labels     the workload's labels (a dict), passed to the proxy as --labels; sidecar.labels wins
  root       the calling chart's root context ($), for .Capabilities
  appPorts   (optional) the app's ports and appUid its uid, refused when they clash with the proxy's

In the pod template:
  metadata.annotations:  include "outrigger.sidecar.podAnnotations"
  spec.initContainers:   include "outrigger.sidecar.initContainers"   (outrigger-init, and the
                         proxy itself when sidecar.native)
  spec.containers:       include "outrigger.sidecar.containers"       (the proxy when not native)
  spec.volumes:          include "outrigger.sidecar.volumes"
*/ -}}

{{- define "outrigger.sidecar.checks" -}}
{{- $v := .values -}}
{{- range $p := .appPorts | default list -}}
{{- if has (int $p) (list 15000 15001 15006 15008 15020 15021 15090) -}}
{{- fail (printf "port %v is the proxy's own (15000 admin, 15001/15006 capture, 15008, 15020, 15021 health, 15090 stats): the app cannot use it" $p) -}}
{{- end -}}
{{- end -}}
{{- if and .appUid (eq (int .appUid) (int $v.proxy.uid)) -}}
{{- fail (printf "the app runs as uid %v, the proxy's uid (proxy.uid): iptables never captures that uid's traffic, so the app would bypass the proxy" .appUid) -}}
{{- end -}}
{{- if and $v.sidecar.native .root (semverCompare "<1.29.0-0" .root.Capabilities.KubeVersion.Version) -}}
{{- fail (printf "sidecar.native=true needs Kubernetes >= 1.29 (initContainers with restartPolicy: Always); this cluster is %s: set sidecar.native=false" .root.Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- end -}}

{{- define "outrigger.sidecar.tproxy" -}}
{{- if eq .values.sidecar.interception.mode "TPROXY" -}}true{{- end -}}
{{- end -}}

{{- define "outrigger.sidecar.podAnnotations" -}}
{{- $v := .values -}}
sidecar.istio.io/inject: "false"
{{- if $v.sidecar.prometheusScrape }}
prometheus.io/scrape: "true"
prometheus.io/port: "15090"
prometheus.io/path: /stats/prometheus
{{- end }}
{{- end -}}

{{- define "outrigger.sidecar.initContainer" -}}
{{- $v := .values -}}
{{- $i := $v.sidecar.interception -}}
{{- $tproxy := include "outrigger.sidecar.tproxy" . -}}
- name: outrigger-init
  image: {{ printf "%s:%s" $v.initImage.repository $v.initImage.tag | quote }}
  imagePullPolicy: {{ $v.initImage.pullPolicy }}
  args:
  - "-p"
  - "15001"
  - "-z"
  - "15006"
  - "-u"
  - {{ ternary "1337" (toString $v.proxy.uid) (eq $tproxy "true") | quote }}
  - "-m"
  - {{ $i.mode | quote }}
  - "-i"
  - {{ $i.includeOutboundIPRanges | quote }}
  - "-x"
  - {{ $i.excludeOutboundIPRanges | quote }}
  - "-b"
  - {{ $i.includeInboundPorts | quote }}
  - "-d"
  - {{ trimSuffix "," (printf "15090,15021,15020,%s" $i.excludeInboundPorts) | quote }}
  {{- with $i.includeOutboundPorts }}
  - "-q"
  - {{ . | quote }}
  {{- end }}
  {{- with $i.excludeOutboundPorts }}
  - "-o"
  - {{ . | quote }}
  {{- end }}
  {{- with $i.excludeInterfaces }}
  - "-c"
  - {{ . | quote }}
  {{- end }}
  resources:
    {{- toYaml $v.proxy.resources | nindent 4 }}
  securityContext:
    allowPrivilegeEscalation: false
    privileged: false
    capabilities:
      add:
      - NET_ADMIN
      - NET_RAW
      drop:
      - ALL
    readOnlyRootFilesystem: false
    runAsGroup: 0
    runAsNonRoot: false
    runAsUser: 0
{{- end -}}

{{- define "outrigger.sidecar.proxyContainer" -}}
{{- $v := .values -}}
{{- $tproxy := include "outrigger.sidecar.tproxy" . -}}
{{- $labels := $v.sidecar.labels | default .labels | default dict -}}
{{- $labelArgs := list -}}
{{- range $k, $val := $labels }}{{ $labelArgs = append $labelArgs (printf "%s=%s" $k $val) }}{{ end -}}
- name: outrigger
  image: {{ printf "%s:%s" $v.image.repository $v.image.tag | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if $v.sidecar.native }}
  restartPolicy: Always
  {{- end }}
  args:
  - run
  - --intercept
  - --config
  - /etc/outrigger/config
  - --interception-mode
  - {{ $v.sidecar.interception.mode }}
  - --proxy-uid
  - {{ ternary "1337" (toString $v.proxy.uid) (eq $tproxy "true") | quote }}
  {{- if not (kindIs "invalid" $v.proxy.concurrency) }}
  - --workers
  - {{ $v.proxy.concurrency | quote }}
  {{- end }}
  - --drain-timeout
  - {{ $v.proxy.terminationDrainDuration | quote }}
  - --log-level
  - {{ $v.proxy.logLevel }}
  {{- if $labelArgs }}
  - --labels
  - {{ join "," $labelArgs | quote }}
  {{- end }}
  ports:
  - containerPort: 15090
    protocol: TCP
    name: http-envoy-prom
  env:
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  - name: INSTANCE_IP
    valueFrom:
      fieldRef:
        fieldPath: status.podIP
  - name: SERVICE_ACCOUNT
    valueFrom:
      fieldRef:
        fieldPath: spec.serviceAccountName
  - name: ISTIO_META_INTERCEPTION_MODE
    value: {{ $v.sidecar.interception.mode }}
  {{- if and $v.sidecar.holdApplicationUntilProxyStarts (not $v.sidecar.native) }}
  lifecycle:
    postStart:
      exec:
        command:
        - node
        - -e
        - {{ include "outrigger.sidecar.waitReady" . | quote }}
  {{- end }}
  {{- if $v.sidecar.startupProbe.enabled }}
  startupProbe:
    httpGet:
      path: /healthz/ready
      port: 15021
    initialDelaySeconds: 0
    periodSeconds: {{ $v.sidecar.startupProbe.periodSeconds }}
    timeoutSeconds: {{ $v.sidecar.startupProbe.timeoutSeconds }}
    failureThreshold: {{ $v.sidecar.startupProbe.failureThreshold }}
  {{- end }}
  readinessProbe:
    httpGet:
      path: /healthz/ready
      port: 15021
    initialDelaySeconds: {{ $v.sidecar.readinessProbe.initialDelaySeconds }}
    periodSeconds: {{ $v.sidecar.readinessProbe.periodSeconds }}
    timeoutSeconds: {{ $v.sidecar.readinessProbe.timeoutSeconds }}
    failureThreshold: {{ $v.sidecar.readinessProbe.failureThreshold }}
  securityContext:
    allowPrivilegeEscalation: false
    privileged: false
    capabilities:
      {{- if eq $tproxy "true" }}
      add:
      - NET_ADMIN
      {{- end }}
      drop:
      - ALL
    readOnlyRootFilesystem: true
    {{- if eq $tproxy "true" }}
    runAsNonRoot: false
    runAsUser: 0
    runAsGroup: 1337
    {{- else }}
    runAsNonRoot: true
    runAsUser: {{ $v.proxy.uid }}
    runAsGroup: {{ $v.proxy.gid }}
    {{- end }}
  resources:
    {{- toYaml $v.proxy.resources | nindent 4 }}
  volumeMounts:
  - name: outrigger-config
    mountPath: /etc/outrigger/config
    readOnly: true
  - name: istio-envoy
    mountPath: /etc/istio/proxy
  - name: istio-data
    mountPath: /var/lib/istio/data
{{- end -}}

{{- /* The proxy's postStart with holdApplicationUntilProxyStarts, as Istio's `pilot-agent wait`:
returns once 15021 /healthz/ready answers 200 (every 500 ms, each try 500 ms, at most 60 s). The
kubelet starts the next container only after it, so the proxy must come first in containers. */ -}}
{{- define "outrigger.sidecar.waitReady" -}}
const url = "http://127.0.0.1:15021/healthz/ready", deadline = Date.now() + 60000;
(async () => {
  for (;;) {
    try { const r = await fetch(url, { signal: AbortSignal.timeout(500) }); await r.arrayBuffer(); if (r.status === 200) process.exit(0); } catch {}
    if (Date.now() > deadline) { console.error("the proxy is not ready after 60 s: " + url); process.exit(1); }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
})();
{{- end -}}

{{- define "outrigger.sidecar.initContainers" -}}
{{- include "outrigger.sidecar.checks" . -}}
{{ include "outrigger.sidecar.initContainer" . }}
{{- if .values.sidecar.native }}
{{ include "outrigger.sidecar.proxyContainer" . }}
{{- end }}
{{- end -}}

{{- define "outrigger.sidecar.containers" -}}
{{- if not .values.sidecar.native -}}
{{ include "outrigger.sidecar.proxyContainer" . }}
{{- end -}}
{{- end -}}

{{- define "outrigger.sidecar.volumes" -}}
- name: outrigger-config
  configMap:
    name: {{ .configMap | quote }}
- name: istio-envoy
  emptyDir:
    medium: Memory
- name: istio-data
  emptyDir: {}
{{- end -}}

{{- /* A ConfigMap of Istio YAML files; dict: values, name, labels, and files (file name: content,
default values.sidecar.config). */ -}}
{{- define "outrigger.sidecar.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  {{- with .labels }}
  labels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  {{- range $file, $content := (.files | default .values.sidecar.config) }}
  {{ $file }}: |
    {{- $content | nindent 4 }}
  {{- end }}
{{- end -}}
