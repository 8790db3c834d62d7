#!/usr/bin/env bash
# compat/run.sh: the real-client compatibility gate.
#
#   compat/run.sh [--long] [--only SUITES] ENDPOINT ACCESS_KEY SECRET_KEY
#
# Drives an S3 endpoint (http://host:port or https://host:port) with the
# tools people point at S3 -- restic, rclone, the aws cli, s3cmd -- and
# with the functional test program that ships inside the minio-go module,
# and counts every check as passed or failed. It keeps going after a
# failure, prints what failed and why, and ends with the line
#
#   N passed, N failed
#
# Its exit status is non-zero when anything failed. It installs nothing:
# .ci/run does that. A tool that is missing is a failed check.
#
# --long       bigger trees and files (about 1 GiB through restic).
# --only LIST  comma-separated subset of: restic,rclone,awscli,s3cmd,minio-go
#
# Environment:
#   COMPAT_STRICT_KNOWN=1  a test in compat/known-failures.txt that no
#                          longer fails counts as a failure (the list must
#                          stay true); otherwise it is only reported.
#   COMPAT_KEEP=1          keep the work folder for inspection.
#
# All generated data comes from fixed seeds (compat/gentree), so a
# failure replays with the same bytes and names.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

long=0
only="restic,rclone,awscli,s3cmd,minio-go"
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1; shift ;;
    --only) only="$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "compat: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 3 ]; then
  echo "usage: compat/run.sh [--long] [--only SUITES] ENDPOINT ACCESS_KEY SECRET_KEY" >&2
  exit 2
fi
endpoint=${1%/}
access=$2
secret=$3
case "$endpoint" in
  http://*) hostport=${endpoint#http://}; https=0 ;;
  https://*) hostport=${endpoint#https://}; https=1 ;;
  *) echo "compat: ENDPOINT must start with http:// or https://" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/objstore-compat.XXXXXX")
cleanup() {
  if [ "${COMPAT_KEEP:-0}" = 1 ]; then
    echo "compat: work folder kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
mkdir -p "$work/logs" "$work/bin"

# A run id keeps buckets of runs against the same endpoint apart.
runid=$(date +%s | tail -c 7)$$
runid=${runid:0:10}

passed=0
failed=0
failures=()

say() { printf 'compat: %s\n' "$*"; }

pass() {
  passed=$((passed + 1))
  printf '  ok    %s\n' "$1"
}

# fail NAME WHY
fail() {
  failed=$((failed + 1))
  failures+=("$1: $2")
  printf '  FAIL  %s: %s\n' "$1" "$2"
}

# check NAME CMD... runs CMD with its output in a log; a non-zero exit is
# a failure whose reason is the tail of that output.
check() {
  local name=$1
  shift
  local log="$work/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_').log"
  local t0=$SECONDS rc=0
  "$@" >"$log" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then
    pass "$name ($((SECONDS - t0)) s)"
    return 0
  fi
  fail "$name" "exit $rc: $(tail -n 5 "$log" | tr '\n' ' ' | cut -c1-600)"
  return 1
}

# same NAME A B: A and B are equal (files or trees).
same() {
  local name=$1 a=$2 b=$3
  local out
  if out=$(diff -r -q "$a" "$b" 2>&1); then
    pass "$name"
  else
    fail "$name" "differs: $(printf '%s' "$out" | head -n 5 | tr '\n' ' ')"
  fi
}

# equal NAME GOT WANT: two strings are equal.
equal() {
  if [ "$2" = "$3" ]; then
    pass "$1"
  else
    fail "$1" "got '$(printf '%s' "$2" | head -c 300)', want '$(printf '%s' "$3" | head -c 300)'"
  fi
}

wants() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }

have() {
  if command -v "$1" >/dev/null 2>&1; then
    return 0
  fi
  fail "$2" "$1 is not installed (.ci/run installs it from Debian)"
  return 1
}

export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1

# --- Test data -----------------------------------------------------------

if [ $long = 1 ]; then
  small=6000 large=4 large_size=$((200 << 20)) rclone_big=$((300 << 20))
else
  small=1500 large=3 large_size=$((50 << 20)) rclone_big=$((80 << 20))
fi

gentree=$work/bin/gentree
if ! (cd "$repo" && go build -o "$gentree" ./compat/gentree) >"$work/logs/gentree.log" 2>&1; then
  fail "setup: build compat/gentree" "$(tail -n 5 "$work/logs/gentree.log" | tr '\n' ' ')"
  gentree=""
fi

# tree DIR SEED ARGS...: a generated tree, or a failed check.
tree() {
  local dir=$1 seed=$2
  shift 2
  [ -n "$gentree" ] && "$gentree" -dir "$dir" -seed "$seed" "$@"
}

# --- restic --------------------------------------------------------------

suite_restic() {
  say "restic ($(restic version 2>/dev/null | head -n 1))"
  local src=$work/restic-src repo="s3:$endpoint/compat-restic-$runid/repo"
  export RESTIC_PASSWORD=compat-gate-password RESTIC_CACHE_DIR=$work/restic-cache
  if ! tree "$src" 11 -small "$small" -large "$large" -large-size "$large_size"; then
    fail "restic: generate tree" "gentree failed"
    return
  fi
  say "restic: backing up $(du -sh "$src" | cut -f1) in $(find "$src" -type f | wc -l) files"
  check "restic: init" restic -r "$repo" init || return
  check "restic: backup" restic -r "$repo" backup --host compat "$src" || return
  check "restic: check --read-data" restic -r "$repo" check --read-data
  check "restic: restore" restic -r "$repo" restore latest --target "$work/restic-restore" &&
    same "restic: restored tree equals source" "$src" "$work/restic-restore$src"

  # A second backup after changes, then prune the first away.
  rm -rf "$src/small/d03" "$src/large/large-0.bin"
  tree "$src/added" 12 -small 200 -large 1 -large-size $((7 << 20)) || fail "restic: generate change" "gentree failed"
  check "restic: second backup" restic -r "$repo" backup --host compat "$src"
  check "restic: forget --keep-last 1 --prune" restic -r "$repo" forget --keep-last 1 --prune
  local n
  n=$(restic -r "$repo" snapshots --json 2>/dev/null | grep -o '"short_id"' | wc -l)
  equal "restic: one snapshot left" "$n" "1"
  check "restic: check after prune" restic -r "$repo" check
  rm -rf "$work/restic-restore"
  check "restic: restore after prune" restic -r "$repo" restore latest --target "$work/restic-restore" &&
    same "restic: restored second tree equals source" "$src" "$work/restic-restore$src"
  rm -rf "$src" "$work/restic-restore" "$work/restic-cache"
}

# --- rclone --------------------------------------------------------------

suite_rclone() {
  say "rclone ($(rclone version 2>/dev/null | head -n 1))"
  export RCLONE_CONFIG=$work/rclone.conf
  : >"$RCLONE_CONFIG"
  export RCLONE_CONFIG_OBJ_TYPE=s3 RCLONE_CONFIG_OBJ_PROVIDER=Other
  export RCLONE_CONFIG_OBJ_ENDPOINT=$endpoint RCLONE_CONFIG_OBJ_REGION=us-east-1
  export RCLONE_CONFIG_OBJ_ACCESS_KEY_ID=$access RCLONE_CONFIG_OBJ_SECRET_ACCESS_KEY=$secret
  export RCLONE_CONFIG_OBJ_FORCE_PATH_STYLE=true
  # Small cutoff and chunks: the big file goes up in 16 parts.
  # rclone 1.60's AWS SDK fails on AWS_CA_BUNDLE with its own transport
  # ("LoadCustomCABundleError"); it is meant for the aws cli anyway.
  local rc=(env -u AWS_CA_BUNDLE rclone --s3-upload-cutoff 5M --s3-chunk-size 5M --s3-upload-concurrency 4 --transfers 4 --checkers 8)
  local b="obj:compat-rclone-$runid" src=$work/rclone-src
  if ! tree "$src" 21 -small 300 -large 1 -large-size "$rclone_big"; then
    fail "rclone: generate tree" "gentree failed"
    return
  fi
  check "rclone: mkdir" "${rc[@]}" mkdir "$b" || return
  check "rclone: copy (multipart for the big file)" "${rc[@]}" copy "$src" "$b/tree"
  # check compares sizes and MD5 hashes: a wrong ETag shows up here.
  check "rclone: check (md5)" "${rc[@]}" check "$src" "$b/tree"
  check "rclone: check --download" "${rc[@]}" check --download "$src/odd" "$b/tree/odd"
  local want got
  want=$(cd "$src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  got=$("${rc[@]}" lsf -R --files-only "$b/tree" 2>&1 | LC_ALL=C sort)
  equal "rclone: lsf lists every file" "$got" "$want"
  # A single-part object's ETag is the MD5 of its bytes.
  want=$(md5sum "$src/odd/plus+sign.bin" | cut -d' ' -f1)
  got=$("${rc[@]}" md5sum "$b/tree/odd/plus+sign.bin" 2>&1 | cut -d' ' -f1)
  equal "rclone: md5sum of a single-part object" "$got" "$want"
  want=$(md5sum "$src/large/large-0.bin" | cut -d' ' -f1)
  got=$("${rc[@]}" md5sum "$b/tree/large/large-0.bin" 2>&1 | cut -d' ' -f1)
  equal "rclone: md5sum of a multipart object" "$got" "$want"

  # sync: delete some, change some, add some; then the remote must match.
  rm -rf "$src/small/d01" "$src/small/d02"
  tree "$src/new" 22 -small 50 -large 0 || fail "rclone: generate change" "gentree failed"
  printf 'changed\n' >"$src/odd/with space.txt"
  check "rclone: sync" "${rc[@]}" sync "$src" "$b/tree"
  check "rclone: check after sync" "${rc[@]}" check "$src" "$b/tree"

  # Server-side copy, within and across buckets.
  check "rclone: copyto (server-side)" "${rc[@]}" copyto "$b/tree/large/large-0.bin" "$b/copy/large-copy.bin"
  want=$(md5sum "$src/large/large-0.bin" | cut -d' ' -f1)
  got=$("${rc[@]}" cat "$b/copy/large-copy.bin" 2>/dev/null | md5sum | cut -d' ' -f1)
  equal "rclone: server-side copy has the same bytes" "$got" "$want"
  check "rclone: copyto a small object" "${rc[@]}" copyto "$b/tree/odd/ünïcødé-名前.bin" "$b/copy/unicode copy.bin"
  want=$(md5sum "$src/odd/ünïcødé-名前.bin" | cut -d' ' -f1)
  got=$("${rc[@]}" md5sum "$b/copy/unicode copy.bin" 2>&1 | cut -d' ' -f1)
  equal "rclone: the small copy's ETag is its MD5" "$got" "$want"

  check "rclone: delete --include" "${rc[@]}" delete --include "*.dat" "$b/tree/new"
  got=$("${rc[@]}" lsf -R --files-only "$b/tree/new" 2>&1 | grep -c '\.dat$')
  equal "rclone: no .dat left after delete" "$got" "0"
  check "rclone: purge" "${rc[@]}" purge "$b"
  if "${rc[@]}" lsf "$b" >/dev/null 2>&1; then
    fail "rclone: bucket gone after purge" "lsf still succeeds"
  else
    pass "rclone: bucket gone after purge"
  fi
  rm -rf "$src"
}

# --- aws cli -------------------------------------------------------------

suite_awscli() {
  say "aws cli ($(aws --version 2>&1 | head -n 1))"
  # The cli signs with SigV4 here (aws cli v1 would presign with SigV2
  # by default; that default is checked separately below). Everything
  # else is the cli's default, including its default checksum behaviour.
  export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
  printf '[default]\nregion = us-east-1\ns3 =\n    signature_version = s3v4\n' >"$AWS_CONFIG_FILE"
  local aws=(aws --endpoint-url "$endpoint")
  [ $https = 1 ] && aws+=(--no-verify-ssl)
  local b=compat-awscli-$runid d=$work/aws
  mkdir -p "$d"
  if ! tree "$d/tree" 31 -small 120 -large 1 -large-size $((24 << 20)); then
    fail "aws: generate tree" "gentree failed"
    return
  fi
  check "aws s3 mb" "${aws[@]}" s3 mb "s3://$b" || return
  check "aws s3 cp (multipart upload)" "${aws[@]}" s3 cp "$d/tree/large/large-0.bin" "s3://$b/big.bin"
  check "aws s3 cp (download)" "${aws[@]}" s3 cp "s3://$b/big.bin" "$d/big.back" &&
    same "aws s3 cp round trip" "$d/tree/large/large-0.bin" "$d/big.back"
  check "aws s3 sync (up)" "${aws[@]}" s3 sync "$d/tree" "s3://$b/tree"
  check "aws s3 sync (down)" "${aws[@]}" s3 sync "s3://$b/tree" "$d/back" &&
    same "aws s3 sync round trip" "$d/tree" "$d/back"
  local got want
  got=$("${aws[@]}" s3 ls --recursive "s3://$b/tree/" 2>&1 | wc -l)
  want=$(find "$d/tree" -type f | wc -l)
  equal "aws s3 ls --recursive counts every object" "$got" "$want"
  got=$("${aws[@]}" s3 ls "s3://$b/tree/" 2>&1 | tr -s ' ' | LC_ALL=C sort | tr '\n' ' ')
  equal "aws s3 ls shows the prefixes" "$got" " PRE large/  PRE odd/  PRE small/ "
  local url
  if url=$("${aws[@]}" s3 presign "s3://$b/tree/odd/plus+sign.bin" --expires-in 300 2>"$work/logs/presign.log"); then
    pass "aws s3 presign"
    check "curl fetches the presigned URL" curl -sSf -k -o "$d/presigned" "$url" &&
      same "presigned download has the bytes" "$d/tree/odd/plus+sign.bin" "$d/presigned"
  else
    fail "aws s3 presign" "$(tail -n 3 "$work/logs/presign.log" | tr '\n' ' ')"
  fi
  # A config without signature_version: aws cli v1 presigns with SigV2.
  printf '[default]\nregion = us-east-1\n' >"$work/aws-config-default"
  if url=$(AWS_CONFIG_FILE=$work/aws-config-default "${aws[@]}" s3 presign "s3://$b/tree/odd/plus+sign.bin" --expires-in 300 2>"$work/logs/presign-default.log"); then
    pass "aws s3 presign (the cli's default signature)"
    check "curl fetches the default-signature presigned URL" curl -sSf -k -o "$d/presigned-default" "$url" &&
      same "default-signature presigned download has the bytes" "$d/tree/odd/plus+sign.bin" "$d/presigned-default"
  else
    fail "aws s3 presign (the cli's default signature)" "$(tail -n 3 "$work/logs/presign-default.log" | tr '\n' ' ')"
  fi

  # The multipart API by hand: two parts, the second shorter.
  local f=$d/tree/large/large-0.bin id
  head -c $((5 << 20)) "$f" >"$d/part1"
  tail -c +$(((5 << 20) + 1)) "$f" | head -c $((3 << 20)) >"$d/part2"
  cat "$d/part1" "$d/part2" >"$d/mp-want"
  if id=$("${aws[@]}" s3api create-multipart-upload --bucket "$b" --key mp/obj.bin --query UploadId --output text 2>"$work/logs/cmu.log"); then
    pass "aws s3api create-multipart-upload"
    local e1 e2
    e1=$("${aws[@]}" s3api upload-part --bucket "$b" --key mp/obj.bin --upload-id "$id" --part-number 1 --body "$d/part1" --query ETag --output text 2>"$work/logs/up1.log")
    equal "aws s3api upload-part 1 ETag is the part's MD5" "$e1" "\"$(md5sum "$d/part1" | cut -d' ' -f1)\""
    e2=$("${aws[@]}" s3api upload-part --bucket "$b" --key mp/obj.bin --upload-id "$id" --part-number 2 --body "$d/part2" --query ETag --output text 2>"$work/logs/up2.log")
    equal "aws s3api upload-part 2 ETag is the part's MD5" "$e2" "\"$(md5sum "$d/part2" | cut -d' ' -f1)\""
    got=$("${aws[@]}" s3api list-parts --bucket "$b" --key mp/obj.bin --upload-id "$id" --query 'length(Parts)' --output text 2>&1)
    equal "aws s3api list-parts" "$got" "2"
    printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' \
      "$(printf '%s' "$e1" | sed 's/"/\\"/g; s/.*/"&"/')" "$(printf '%s' "$e2" | sed 's/"/\\"/g; s/.*/"&"/')" >"$d/parts.json"
    got=$("${aws[@]}" s3api complete-multipart-upload --bucket "$b" --key mp/obj.bin --upload-id "$id" \
      --multipart-upload "file://$d/parts.json" --query ETag --output text 2>&1)
    # The multipart ETag: MD5 of the parts' binary MD5s, then -N.
    local hex
    hex=$(md5sum "$d/part1" "$d/part2" | cut -d' ' -f1 | tr -d '\n' | sed 's/../\\x&/g')
    want="\"$(printf '%b' "$hex" | md5sum | cut -d' ' -f1)-2\""
    equal "aws s3api complete-multipart-upload ETag" "$got" "$want"
  else
    fail "aws s3api create-multipart-upload" "$(tail -n 3 "$work/logs/cmu.log" | tr '\n' ' ')"
  fi
  got=$("${aws[@]}" s3api head-object --bucket "$b" --key mp/obj.bin --query '[ContentLength,ETag]' --output text 2>&1)
  equal "aws s3api head-object" "$got" "$((8 << 20))	$want"
  check "aws s3api get-object --range" "${aws[@]}" s3api get-object --bucket "$b" --key mp/obj.bin \
    --range "bytes=5242000-5243999" "$d/range"
  tail -c +5242001 "$d/mp-want" | head -c 2000 >"$d/range-want"
  same "aws s3api get-object --range bytes across the part boundary" "$d/range-want" "$d/range"
  check "aws s3api get-object (whole)" "${aws[@]}" s3api get-object --bucket "$b" --key mp/obj.bin "$d/mp-got" &&
    same "aws s3api multipart object bytes" "$d/mp-want" "$d/mp-got"
  check "aws s3api copy-object" "${aws[@]}" s3api copy-object --bucket "$b" --key "copy/o b+j.bin" \
    --copy-source "$b/mp/obj.bin" --metadata-directive REPLACE --content-type text/plain --metadata k=v
  got=$("${aws[@]}" s3api head-object --bucket "$b" --key "copy/o b+j.bin" --query '[ContentLength,ContentType,Metadata.k]' --output text 2>&1)
  equal "aws s3api copy-object result" "$got" "$((8 << 20))	text/plain	v"
  got=$("${aws[@]}" s3api list-objects-v2 --bucket "$b" --prefix tree/small/ --delimiter / --query 'length(CommonPrefixes)' --output text 2>&1)
  equal "aws s3api list-objects-v2 --delimiter" "$got" "17"
  got=$("${aws[@]}" s3api list-objects-v2 --bucket "$b" --prefix tree/small/ --max-items 1000 --page-size 7 --query 'Contents[].Key' --output text 2>&1 | tr '\t' '\n' | grep -c .)
  equal "aws s3api list-objects-v2 paginated" "$got" "120"
  printf '{"Objects":[{"Key":"big.bin"},{"Key":"copy/o b+j.bin"},{"Key":"no/such/key"}],"Quiet":false}' >"$d/del.json"
  got=$("${aws[@]}" s3api delete-objects --bucket "$b" --delete "file://$d/del.json" --query 'length(Deleted)' --output text 2>&1)
  equal "aws s3api delete-objects" "$got" "3"
  if "${aws[@]}" s3api head-object --bucket "$b" --key big.bin >/dev/null 2>&1; then
    fail "aws: deleted object is gone" "head-object still succeeds"
  else
    pass "aws: deleted object is gone"
  fi
  check "aws s3 rm --recursive" "${aws[@]}" s3 rm --recursive "s3://$b/tree/small/"
  got=$("${aws[@]}" s3 ls --recursive "s3://$b/tree/small/" 2>&1 | wc -l)
  equal "aws s3 rm removed everything" "$got" "0"
  check "aws s3 rb --force" "${aws[@]}" s3 rb --force "s3://$b"
  rm -rf "$d"
}

# --- s3cmd ---------------------------------------------------------------

suite_s3cmd() {
  say "s3cmd ($(s3cmd --version 2>&1 | head -n 1))"
  local cfg=$work/s3cfg b=s3://compat-s3cmd-$runid d=$work/s3cmd
  cat >"$cfg" <<EOF
[default]
access_key = $access
secret_key = $secret
host_base = $hostport
host_bucket = $hostport
use_https = $([ $https = 1 ] && echo True || echo False)
check_ssl_certificate = False
signature_v2 = False
bucket_location = us-east-1
EOF
  local s3=(s3cmd -c "$cfg" --no-progress)
  mkdir -p "$d"
  if ! tree "$d/tree" 41 -small 80 -large 1 -large-size $((20 << 20)); then
    fail "s3cmd: generate tree" "gentree failed"
    return
  fi
  check "s3cmd mb" "${s3[@]}" mb "$b" || return
  check "s3cmd put" "${s3[@]}" put "$d/tree/odd/plus+sign.bin" "$b/one/plus+sign.bin"
  check "s3cmd get" "${s3[@]}" get "$b/one/plus+sign.bin" "$d/one.back" &&
    same "s3cmd put/get round trip" "$d/tree/odd/plus+sign.bin" "$d/one.back"
  check "s3cmd put --multipart-chunk-size-mb=5 (20 MiB)" "${s3[@]}" put --multipart-chunk-size-mb=5 \
    "$d/tree/large/large-0.bin" "$b/mp/big.bin"
  check "s3cmd get multipart object" "${s3[@]}" get "$b/mp/big.bin" "$d/big.back" &&
    same "s3cmd multipart round trip" "$d/tree/large/large-0.bin" "$d/big.back"
  local got
  got=$("${s3[@]}" info "$b/mp/big.bin" 2>&1 | grep -ci 'MD5 sum')
  equal "s3cmd info" "$got" "1"
  check "s3cmd sync (up)" "${s3[@]}" sync --multipart-chunk-size-mb=5 "$d/tree/" "$b/tree/"
  check "s3cmd sync (down)" "${s3[@]}" sync "$b/tree/" "$d/back/" &&
    same "s3cmd sync round trip" "$d/tree" "$d/back"
  # A second sync has nothing to do: s3cmd compares sizes and MD5s.
  got=$("${s3[@]}" sync --dry-run "$d/tree/" "$b/tree/" 2>&1 | grep -c '^upload:')
  equal "s3cmd sync is idempotent (ETags match MD5s)" "$got" "0"
  got=$("${s3[@]}" ls "$b/tree/" 2>&1 | grep -c 'DIR')
  equal "s3cmd ls shows the prefixes" "$got" "3"
  got=$("${s3[@]}" ls -r "$b/tree/" 2>&1 | wc -l)
  equal "s3cmd ls -r counts every object" "$got" "$(find "$d/tree" -type f | wc -l)"
  check "s3cmd del" "${s3[@]}" del "$b/one/plus+sign.bin"
  got=$("${s3[@]}" ls "$b/one/" 2>&1 | wc -l)
  equal "s3cmd del removed the object" "$got" "0"
  check "s3cmd del --recursive --force" "${s3[@]}" del --recursive --force "$b"
  check "s3cmd rb" "${s3[@]}" rb "$b"
  rm -rf "$d"
}

# --- minio-go functional tests --------------------------------------------

suite_minio_go() {
  local ver mod src
  ver=$(awk '$1 == "github.com/minio/minio-go/v7" { print $2; exit }' "$repo/go.mod")
  say "minio-go functional tests ($ver)"
  if [ -z "$ver" ]; then
    fail "minio-go: version" "github.com/minio/minio-go/v7 is not in go.mod"
    return
  fi
  mod=$work/functional
  mkdir -p "$mod"
  # The module's go.mod and go.sum, renamed, pin every dependency to the
  # versions the project already uses; tidy runs here, never in the repo.
  sed 's|^module .*|module objstore.invalid/compat/functional|' "$repo/go.mod" >"$mod/go.mod"
  cp "$repo/go.sum" "$mod/go.sum"
  src=$(cd "$mod" && go mod download -json "github.com/minio/minio-go/v7@$ver" 2>/dev/null | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ] || [ ! -f "$src/functional_tests.go" ]; then
    fail "minio-go: find functional_tests.go" "not in the module cache (go mod download github.com/minio/minio-go/v7@$ver)"
    return
  fi
  # The file is package main behind the `mint` build tag; in its own
  # module the tag line goes, or the tag would also pull it into the
  # minio package it imports.
  grep -v '^//go:build mint$' "$src/functional_tests.go" >"$mod/functional_tests.go"
  if ! (cd "$mod" && go mod tidy && go build -o functional .) >"$work/logs/functional-build.log" 2>&1; then
    fail "minio-go: build functional tests" "$(tail -n 5 "$work/logs/functional-build.log" | tr '\n' ' ')"
    return
  fi
  pass "minio-go: build functional tests"
  local out=$work/functional.jsonl
  # RUN_ON_FAIL: log a failure and go on, rather than panic at the first.
  # TMPDIR: the program leaves temporary files behind; keep them in the
  # work folder, which goes.
  mkdir -p "$work/functional-tmp"
  (cd "$work" && TMPDIR=$work/functional-tmp SERVER_ENDPOINT=$hostport ACCESS_KEY=$access SECRET_KEY=$secret \
    ENABLE_HTTPS=$https SKIP_CERT_VALIDATION=1 MINT_MODE=full RUN_ON_FAIL=1 \
    timeout 1200 "$mod/functional" >"$out" 2>"$work/logs/functional.stderr")
  local rc=$?
  if [ $rc -ne 0 ]; then
    fail "minio-go: functional program exit status" "exit $rc: $(tail -n 5 "$work/logs/functional.stderr" | tr '\n' ' ' | cut -c1-600)"
  else
    pass "minio-go: functional program exit status"
  fi
  tally_functional "$out" "$here/known-failures.txt"
}

# tally_functional JSONL KNOWN: one check per test function. A function
# fails if any of its lines is FAIL; NA lines (the server answered
# NotImplemented) count as passed, listed separately. A FAIL of a
# function in KNOWN is not counted; a known one that passes is reported
# (a failure under COMPAT_STRICT_KNOWN=1).
tally_functional() {
  local out=$1 known=$2
  local summary
  summary=$(awk -v known="$known" '
    function field(line, key,   m, v) {
      # JSON string field of a flat slog line; enough for these fields.
      if (match(line, "\"" key "\":\"([^\"\\\\]|\\\\.)*\"")) {
        v = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
        gsub(/\\"/, "\"", v)
        return v
      }
      return ""
    }
    BEGIN {
      while ((getline l < known) > 0) {
        sub(/#.*/, "", l); gsub(/[ \t]/, "", l)
        if (l != "") isknown[l] = 1
      }
    }
    /^\{/ {
      name = field($0, "name"); sub(/^minio-go: /, "", name)
      st = field($0, "status")
      if (name == "" || st == "") next
      if (!(name in state)) order[++n] = name
      if (st == "FAIL") {
        state[name] = "FAIL"
        why[name] = why[name] field($0, "message") ": " field($0, "error") "; "
      } else if (st == "NA" && state[name] != "FAIL") {
        state[name] = "NA"
      } else if (state[name] == "") {
        state[name] = "PASS"
      }
    }
    END {
      for (i = 1; i <= n; i++) {
        t = order[i]; s = state[t]
        if (s == "FAIL" && (t in isknown)) s = "KNOWN"
        else if (s != "FAIL" && (t in isknown)) s = "STALE"
        printf "%s\t%s\t%s\n", s, t, substr(why[t], 1, 500)
      }
      for (t in isknown) if (!(t in state)) printf "ABSENT\t%s\t\n", t
    }' "$out")
  local s t w np=0 nna=0 nk=0
  while IFS=$'\t' read -r s t w; do
    case "$s" in
      PASS) passed=$((passed + 1)); np=$((np + 1)) ;;
      NA) passed=$((passed + 1)); nna=$((nna + 1)); printf '  na    minio-go: %s (server answered NotImplemented)\n' "$t" ;;
      KNOWN) nk=$((nk + 1)); printf '  known minio-go: %s\n' "$t" ;;
      FAIL) fail "minio-go: $t" "$w" ;;
      STALE | ABSENT)
        if [ "${COMPAT_STRICT_KNOWN:-0}" = 1 ]; then
          fail "minio-go: $t" "listed in known-failures.txt but did not fail ($s): remove it from the list"
        else
          printf '  note  minio-go: %s is listed as a known failure but did not fail (%s)\n' "$t" "$s"
        fi ;;
    esac
  done <<<"$summary"
  say "minio-go: $np functions passed, $nna not implemented (NA), $nk known failures (compat/known-failures.txt)"
}

# --- Run -------------------------------------------------------------------

say "endpoint $endpoint, work folder $work, suites $only$([ $long = 1 ] && echo ', long')"
start=$(date +%s)
for s in restic rclone awscli s3cmd minio-go; do
  wants "$s" || continue
  t0=$(date +%s)
  case "$s" in
    restic) have restic "restic" && (suite_restic; echo "$passed $failed" >"$work/counts"; printf '%s\n' "${failures[@]}" >"$work/failures") ;;
    rclone) have rclone "rclone" && (suite_rclone; echo "$passed $failed" >"$work/counts"; printf '%s\n' "${failures[@]}" >"$work/failures") ;;
    awscli) have aws "aws cli" && (suite_awscli; echo "$passed $failed" >"$work/counts"; printf '%s\n' "${failures[@]}" >"$work/failures") ;;
    s3cmd) have s3cmd "s3cmd" && (suite_s3cmd; echo "$passed $failed" >"$work/counts"; printf '%s\n' "${failures[@]}" >"$work/failures") ;;
    minio-go) have go "minio-go (go)" && (suite_minio_go; echo "$passed $failed" >"$work/counts"; printf '%s\n' "${failures[@]}" >"$work/failures") ;;
  esac
  # Each suite runs in a subshell so its exports stay its own; its
  # counts come back through files.
  if [ -f "$work/counts" ]; then
    read -r passed failed <"$work/counts"
    mapfile -t failures <"$work/failures"
    rm -f "$work/counts" "$work/failures"
  fi
  say "$s took $(($(date +%s) - t0)) s"
done

echo
say "finished in $(($(date +%s) - start)) s"
if [ $failed -gt 0 ]; then
  say "failures:"
  for f in "${failures[@]}"; do
    [ -n "$f" ] && printf '  - %s\n' "$f"
  done
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
