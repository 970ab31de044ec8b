#!/bin/sh
# demo.sh: a first run: start a loopback nginx with its own config, load it for 10 s with
# thresholds, print the summary and where the JSON went, stop nginx.
# (The built-in demo target, `stampede serve-demo`, will replace nginx here.)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STAMPEDE_BIN:-$ROOT/build/stampede}
OUT=${OUT:-$ROOT/results}
mkdir -p "$OUT"
DIR=$(mktemp -d /tmp/stampede-demo.XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NGINX_PID=""
cleanup() {
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
mkdir -p "$DIR/logs"
cat > "$DIR/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/logs/error.log;
events { worker_connections 1024; }
http {
  access_log $DIR/logs/access.log;
  keepalive_requests 1000000;
  client_body_temp_path $DIR/cb; proxy_temp_path $DIR/px; fastcgi_temp_path $DIR/fc;
  uwsgi_temp_path $DIR/uw; scgi_temp_path $DIR/sc;
  server {
    listen 127.0.0.1:$PORT;
    location / { default_type application/json; return 200 '{"status":"ok"}\n'; }
  }
}
CONF
/usr/sbin/nginx -p "$DIR" -c "$DIR/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 50); do
	/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
	sleep 0.1
done
echo "demo: nginx on http://127.0.0.1:$PORT/ (pid $NGINX_PID); ramping 1 -> 20 VUs -> 0 over 10 s"
set +e
"$BIN" run --url "http://127.0.0.1:$PORT/" --stages 3s:20,5s:20,2s:0 \
	--threshold 'http_req_duration: p(95)<200' --threshold 'http_req_failed: rate<0.01' \
	--summary-export "$OUT/demo-summary.json"
rc=$?
set -e
served=$(wc -l < "$DIR/logs/access.log")
echo "demo: nginx logged $served requests; results in $OUT/demo-summary.json (exit code $rc)"
exit $rc
