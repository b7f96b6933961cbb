# shellcheck shell=bash
# Control-plane pieces shared by apiserver.sh (loopback, fast) and cluster.sh (real node in
# a network namespace). Source after lib.sh. Every process is started through in_ns, which
# prefixes NS_PREFIX (empty, or `nsenter --net=/run/netns/NAME`).

NS_PREFIX=()
in_ns() { "${NS_PREFIX[@]}" "$@"; }

# k8s_prepare: Debian packages + the cached Kubernetes binaries (builds them once).
k8s_prepare() {
  "$RIG_DIR/install-debs.sh" k8s
  K8S_BIN=$("$RIG_DIR/kubernetes-build.sh")
  KUBECTL="$K8S_BIN/kubectl"
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one per line.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# make_pki DIR SANS: CA (ca.crt/ca.key), API server serving cert (apiserver.crt/.key) for
# the comma-separated openssl SANS, and the service-account key pair (sa.key/sa.pub).
# ECDSA P-256 throughout: fast to generate, accepted by Go and rustls.
make_pki() {
  local dir=$1 sans=$2 out
  mkdir -p "$dir"
  out="$dir/openssl.log"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=sluice-rig-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/apiserver.key" -out "$dir/apiserver.csr" -subj "/CN=kube-apiserver" &&
      openssl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 3650 -out "$dir/apiserver.crt" -extfile <(
          printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' "$sans"
        ) &&
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$dir/sa.key" &&
      openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub"
  } >"$out" 2>&1 || { show_log "$out"; die "generating certificates in $dir failed (openssl)"; }
  chmod 600 "$dir"/*.key
}

# make_tokens FILE 'USER|GROUP,GROUP'...: a static token file (one random token per user);
# prints nothing; read a user's token with token_of FILE USER.
make_tokens() {
  local file=$1 spec user groups
  shift
  : >"$file"
  chmod 600 "$file"
  for spec in "$@"; do
    user=${spec%%|*}
    groups=${spec#*|}
    printf '%s,%s,%s,"%s"\n' "$(openssl rand -hex 24)" "$user" "$user" "$groups" >>"$file"
  done
}
token_of() { awk -F, -v u="$2" '$2==u {print $1; exit}' "$1"; }

# write_kubeconfig FILE SERVER CA_FILE TOKEN USER [NAMESPACE]
write_kubeconfig() {
  local file=$1 server=$2 ca=$3 token=$4 user=$5 ns=${6:-default}
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sluice
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$ca")
users:
- name: $user
  user:
    token: $token
contexts:
- name: sluice
  context:
    cluster: sluice
    user: $user
    namespace: $ns
current-context: sluice
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

# start_etcd SD CLIENT_PORT PEER_PORT [DATA_DIR (default SD/etcd-data)]
start_etcd() {
  local sd=$1 cport=$2 pport=$3 data=${4:-$1/etcd-data}
  rm -rf "$data"
  spawn "$sd/etcd.log" "$sd/etcd.pid" "${NS_PREFIX[@]}" etcd --name rig \
    --data-dir "$data" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "rig=http://127.0.0.1:$pport" --initial-cluster-state new \
    --snapshot-count 10000 --logger zap --log-level warn
}
etcd_healthy() { in_ns curl -sf --max-time 2 "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }

# start_apiserver SD ETCD_PORT EXTRA_ARGS... (SD/pki and SD/tokens.csv must exist)
start_apiserver() {
  local sd=$1 eport=$2
  shift 2
  spawn "$sd/kube-apiserver.log" "$sd/kube-apiserver.pid" "${NS_PREFIX[@]}" "$K8S_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$eport" \
    --insecure-port=0 \
    --tls-cert-file="$sd/pki/apiserver.crt" --tls-private-key-file="$sd/pki/apiserver.key" \
    --client-ca-file="$sd/pki/ca.crt" \
    --token-auth-file="$sd/tokens.csv" \
    --service-account-key-file="$sd/pki/sa.pub" \
    --service-account-signing-key-file="$sd/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --allow-privileged=true \
    --profiling=false \
    --v=1 \
    "$@"
}
# apiserver_healthy URL CA TOKEN
apiserver_healthy() {
  [[ $(in_ns curl -s --max-time 2 --cacert "$2" -H "Authorization: Bearer $3" "$1/healthz" 2>/dev/null) == ok ]]
}

# start_controller_manager SD EXTRA_ARGS...
start_controller_manager() {
  local sd=$1
  shift
  spawn "$sd/kube-controller-manager.log" "$sd/kube-controller-manager.pid" "${NS_PREFIX[@]}" \
    "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$sd/controller-manager.kubeconfig" \
    --leader-elect=false \
    --service-account-private-key-file="$sd/pki/sa.key" \
    --root-ca-file="$sd/pki/ca.crt" \
    --use-service-account-credentials=false \
    --port=0 --secure-port=0 \
    --profiling=false \
    --v=1 \
    "$@"
}

# start_scheduler SD
start_scheduler() {
  local sd=$1
  spawn "$sd/kube-scheduler.log" "$sd/kube-scheduler.pid" "${NS_PREFIX[@]}" "$K8S_BIN/kube-scheduler" \
    --kubeconfig="$sd/scheduler.kubeconfig" \
    --leader-elect=false \
    --port=0 --secure-port=0 \
    --profiling=false \
    --v=1
}

# default_sa_ready KUBECONFIG: the default ServiceAccount of namespace default exists and
# has its token Secret (pods are admitted only then on 1.20).
default_sa_ready() {
  [[ -n $(in_ns "$KUBECTL" --kubeconfig "$1" -n default get serviceaccount default \
    -o 'jsonpath={.secrets[0].name}' 2>/dev/null) ]]
}

# sa_kubeconfig SD KUBECONFIG NAMESPACE SA SERVER: writes SD/kubeconfig-NAMESPACE-SA for the
# ServiceAccount's token (from its token Secret; waits up to 30 s for the token
# controller to mint it) and prints its path.
sa_kubeconfig() {
  local sd=$1 kc=$2 ns=$3 sa=$4 server=$5 secret token out
  out="$sd/kubeconfig-$ns-$sa"
  sa_secret() {
    secret=$(in_ns "$KUBECTL" --kubeconfig "$kc" -n "$ns" get serviceaccount "$sa" \
      -o 'jsonpath={.secrets[0].name}' 2>/dev/null) && [[ -n $secret ]]
  }
  wait_for 30 sa_secret || die "ServiceAccount $ns/$sa does not exist or has no token Secret after 30 s (create it first; is kube-controller-manager running? log: $sd/kube-controller-manager.log)"
  sa_secret
  token=$(in_ns "$KUBECTL" --kubeconfig "$kc" -n "$ns" get secret "$secret" -o 'jsonpath={.data.token}' | base64 -d)
  [[ -n $token ]] || die "Secret $ns/$secret has no token"
  write_kubeconfig "$out" "$server" "$sd/pki/ca.crt" "$token" "system:serviceaccount:$ns:$sa" "$ns"
  echo "$out"
}
