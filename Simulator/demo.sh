#!/usr/bin/env bash
# The main job, end to end: metersim serves the demo district on an accelerated clock, energyd polls it over
# Modbus TCP with the shipped configuration for a simulated month, then energyctl shows the district report,
# an enterprise's report and the alerts raised. Alerts and the monthly report are delivered, as they would be to
# the inspection team, to two receivers on this machine: a stand-in for 龙河镇's WeCom group robot and a real SMTP
# server (aiosmtpd, STARTTLS) standing in for the inspection mailbox.
#
#   Simulator/demo.sh [DAYS] [--no-console]
#       DAYS          simulated days (default 31: January 2026 in about 65 s)
#       --no-console  end after the reports (for scripts); by default the web console is served afterwards on
#                     http://127.0.0.1:9464/ with demo accounts, until Ctrl-C
#
# Runs on a fresh Debian 12 machine with the Swift toolchain: installs its packages, builds a release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
days=31
console=true
for argument in "$@"; do
    case "$argument" in
        --no-console) console=false ;;
        *) days=$argument ;;
    esac
done
start="2026-01-01T00:00:00+08:00"
speed=43200                              # simulated seconds per real second: one day in 2 s
work="$root/demo-run"

deploy/install-deps.sh
echo "== building (release)"
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)

rm -rf "$work" && mkdir -p "$work"
# The shipped configuration, with the demo's files, and writes and checks frequent enough for a clock running
# 43 200 times real time (a second of real time is half a simulated day).
sed -e "s#^database = .*#database = \"$work/energy.sqlite\"#" \
    -e "s#^alert_log = .*#alert_log = \"$work/alerts.jsonl\"#" \
    -e "s#^enterprise_dir = .*#enterprise_dir = \"$root/Config/enterprises.d\"#" \
    -e "s#^quota_library = .*#quota_library = \"$root/Config/quotas.toml\"#" \
    -e "s#^write_flush_interval_ms = .*#write_flush_interval_ms = 50#" \
    -e "s#^accounting_interval_ms = .*#accounting_interval_ms = 100#" \
    Config/energyd.toml >"$work/energyd.toml"
# Local receivers for the alerts: 龙河镇's over-quota alerts to "its WeCom group", critical and warning alerts and
# the monthly report workbook to "the inspection mailbox".
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
/usr/bin/python3 -u Tests/Receivers/webhook_receiver.py --log "$work/wecom.jsonl" --wecom-key demo >"$work/wecom.out" 2>&1 &
wecom=$!
/usr/bin/python3 -u Tests/Receivers/smtp_receiver.py --log "$work/mail.jsonl" --security starttls --cert "$work/cert.pem" \
    --key "$work/key.pem" --user energyd --password demo >"$work/mail.out" 2>&1 &
mail=$!
trap 'kill $wecom $mail 2>/dev/null || true' EXIT
for out in "$work/wecom.out" "$work/mail.out"; do
    for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
done
printf 'demo\n' >"$work/smtp-password" && chmod 600 "$work/smtp-password"
cat >>"$work/energyd.toml" <<TOML

[delivery]
title = "宿城区能耗在线监测（演示）"
monthly_report = ["inspection-mail"]

[channels.longhe-wecom]
type = "wecom"
url = "http://127.0.0.1:$(awk '{print $2}' "$work/wecom.out")/wecom?key=demo"

[channels.inspection-mail]
type = "email"
smtp_host = "127.0.0.1"
smtp_port = $(awk '{print $2}' "$work/mail.out")
security = "starttls"
ca_file = "$work/cert.pem"
username = "energyd"
password_file = "$work/smtp-password"
from = "energyd@localhost"
to = ["jiancha@localhost"]

[[routes]]
channels = ["longhe-wecom"]
kinds = ["quota_exceeded", "quota_early_warning"]
jurisdictions = ["龙河镇"]

[[routes]]
channels = ["inspection-mail"]
levels = ["critical", "warning"]
TOML
"$bin/energyd" check-config --config "$work/energyd.toml"
# Both processes read the same simulated time: the same start, speed and anchor (real ms when it reads $start).
anchor=$(( $(date +%s%3N) + 300 ))
clock=(--clock-start "$start" --clock-speed "$speed" --clock-anchor "$anchor")

"$bin/metersim" run --scenario Simulator/Scenarios/demo-district.toml "${clock[@]}" >"$work/metersim.out" 2>"$work/metersim.log" &
sim=$!
"$bin/energyd" run --config "$work/energyd.toml" "${clock[@]}" 2>"$work/energyd.log" &
daemon=$!
trap 'kill $daemon $sim $wecom $mail 2>/dev/null || true' EXIT

# Run past the last day's end by two simulated hours, so that the month closes and is checked.
run_ms=$(( (days * 86400 + 7200) * 1000 / speed + 300 + 300 ))
echo "== simulating $days days of the demo district ($(( run_ms / 1000 )) s): metersim pid $sim, energyd pid $daemon"
sleep "$(( run_ms / 1000 )).$(( run_ms % 1000 ))"
# The month's report is queued once its last day's data are in: wait (a few seconds at most) until it and every
# alert message have been delivered before stopping.
for _ in $(seq 150); do
    "$bin/energyctl" outbox list --config "$work/energyd.toml" --format csv |
        awk -F, '$3 == "report" && $5 == "delivered" { report = 1 } $5 == "pending" { pending = 1 } END { exit !(report && !pending) }' &&
        break
    sleep 0.2
done
kill -TERM "$daemon"; wait "$daemon" || { echo "energyd failed; see $work/energyd.log"; exit 1; }
kill -TERM "$sim"; wait "$sim" || true
trap 'kill $wecom $mail 2>/dev/null || true' EXIT

echo "== metersim: $(tail -n 1 "$work/metersim.out")"
ctl=("$bin/energyctl")
month=$(date -d "${start%+*} + $((days - 1)) days" +%Y-%m 2>/dev/null || echo 2026-01)
echo
"${ctl[@]}" report district --config "$work/energyd.toml" --period "$month"
echo
"${ctl[@]}" report enterprise E02 --config "$work/energyd.toml" --period "$month"
echo
echo "== alerts raised (energyctl alerts; the log is $work/alerts.jsonl)"
"${ctl[@]}" alerts --config "$work/energyd.toml"
echo
echo "== delivered (energyctl outbox list): $(grep -c . "$work/wecom.jsonl" 2>/dev/null || echo 0) message(s) to 龙河镇's WeCom group, $(grep -c . "$work/mail.jsonl" 2>/dev/null || echo 0) mail(s) to the inspection mailbox"
/usr/bin/python3 - "$work" <<'PY'
import json, os, sys
def received(name):
    path = os.path.join(sys.argv[1], name)
    return [json.loads(line) for line in open(path, encoding="utf-8")] if os.path.exists(path) else []
for message in received("wecom.jsonl"):
    print("企业微信群 ←", message["payload"]["text"]["content"].splitlines()[0])
for mail in received("mail.jsonl"):
    names = ", ".join(a["name"] for a in mail["attachments"])
    print("邮件 ←", mail["subject"], f"（附件 {names}）" if names else "")
PY
kill $wecom $mail 2>/dev/null || true
trap - EXIT
echo
echo "Files: $work (energy.sqlite, alerts.jsonl, energyd.log, metersim.log). More: energyctl consumption --config $work/energyd.toml --enterprise E01 --from 2026-01-01 --to 2026-02-01"
$console || exit 0
# The web console over what energyd stored: an inspector's account and one for 龙河镇, which sees only its town.
password="demo-password-2026"
echo "$password" | "${ctl[@]}" user add jiancha --role inspector --password-stdin --config "$work/energyd.toml" >/dev/null
echo "$password" | "${ctl[@]}" user add longhe --role jurisdiction --scope 龙河镇 --password-stdin --config "$work/energyd.toml" >/dev/null
listen=$(sed -n 's/^http_listen = "\([^"]*\)".*/\1/p' "$work/energyd.toml")
echo
echo "== web console: http://$listen/?period=$month"
echo "   账号 jiancha（节能监察，全区）或 longhe（龙河镇），密码 $password — Ctrl-C to stop"
exec "$bin/energyd" console --config "$work/energyd.toml"
