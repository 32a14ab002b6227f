# Sourced by the container scripts and by .ci/run: points podman at a configuration and a store
# inside this clone (build/containers/), so nothing is cached outside it.
#   runtime = runc: crun fails on this machine kind's cgroup mode and RLIMIT_NOFILE;
#   lower default ulimits: the container's nofile must not exceed the host's hard limit;
#   storage (images, layers) and run state under build/containers/.
# Safe to source more than once; it only writes the two configuration files.
_oc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export OUTRIGGER_CONTAINERS_DIR="${OUTRIGGER_CONTAINERS_DIR:-$_oc_root/build/containers}"
mkdir -p "$OUTRIGGER_CONTAINERS_DIR/storage" "$OUTRIGGER_CONTAINERS_DIR/run" "$OUTRIGGER_CONTAINERS_DIR/tmp"
_oc_nofile="$(ulimit -Hn)"; [ "$_oc_nofile" = unlimited ] && _oc_nofile=1048576
[ "$_oc_nofile" -gt 65536 ] && _oc_nofile=65536
cat >"$OUTRIGGER_CONTAINERS_DIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$_oc_nofile:$_oc_nofile", "nproc=4096:4096"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$OUTRIGGER_CONTAINERS_DIR/run/libpod"
static_dir = "$OUTRIGGER_CONTAINERS_DIR/storage/libpod"
volume_path = "$OUTRIGGER_CONTAINERS_DIR/storage/volumes"
[network]
network_config_dir = "$OUTRIGGER_CONTAINERS_DIR/net.d"
CONF
cat >"$OUTRIGGER_CONTAINERS_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$OUTRIGGER_CONTAINERS_DIR/storage"
runroot = "$OUTRIGGER_CONTAINERS_DIR/run"
CONF
export CONTAINERS_CONF="$OUTRIGGER_CONTAINERS_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$OUTRIGGER_CONTAINERS_DIR/storage.conf"
unset _oc_root _oc_nofile
