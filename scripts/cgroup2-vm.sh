#!/usr/bin/env bash
# The sandbox on a cgroup v2 host: boots Debian's kernel under QEMU (KVM, or its emulator
# where KVM is not the CPU's own) with only the unified cgroup hierarchy (cgroup_no_v1=all;
# memory, pids and cpu enabled), over a read-only view of this machine's root (9p, a tmpfs
# overlay on top; the virtualenv, stdlib and shared modules from an ext4 disk), and runs:
#   - tests/sandbox (honest and hostile corpus) and tests/grading/test_suite_sandbox.py
#     (the grader suite's own cgroup),
#   - one end-to-end grading run: manage.py grade rest-api exercises/rest-api/solution.
# The worker runs as under systemd with Delegate=yes: in a leaf (/taller.service/worker)
# of a delegated subtree named by TALLER_CGROUP_PARENT.
#
# Writes var/cgroup2-vm/report.md (kernel, cgroup mount and controllers, results) and
# prints it; exits non-zero when anything failed inside. Needs root and `make install`;
# installs qemu-system-x86 and busybox-static and fetches (not installs) Debian's
# linux-image-amd64 when missing; says "SKIPPED" and why, exiting 0, when it cannot.
#
#   scripts/cgroup2-vm.sh            # boot once, run everything, report
#   CGROUP2_VM_CPUS=2 CGROUP2_VM_MEM=3G CGROUP2_VM_TIMEOUT=1800 (defaults)
#   CGROUP2_VM_ACCEL=kvm|tcg         # instead of choosing
#   CGROUP2_VM_PYTEST_ARGS="-k memory" narrows the tests; CGROUP2_VM_COMMAND="..." runs
#   that instead of everything (output in var/cgroup2-vm/command.log)
set -euo pipefail

if [ "${1:-}" = "--inside" ]; then
  INSIDE=1
else
  INSIDE=0
fi

# ---------------------------------------------------------------------------- inside
# PID 1 of the guest after switch_root. Every path is the host's (same root, read-only
# below a tmpfs overlay); the output directory is the host's, shared read-write.
if [ "$INSIDE" = 1 ]; then
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export HOME=/root LANG=C.UTF-8
  read -r -a ARGS </proc/cmdline
  for arg in "${ARGS[@]}"; do
    case "$arg" in
      taller.repo=*) REPO=${arg#taller.repo=} ;;
      taller.out=*) OUT=${arg#taller.out=} ;;
      taller.pytest=*) PYTEST_ARGS=$(printf '%s' "${arg#taller.pytest=}" | base64 -d) ;;
      taller.accel=*) ACCEL=${arg#taller.accel=} ;;
      taller.cmd=*) COMMAND=$(printf '%s' "${arg#taller.cmd=}" | base64 -d) ;;
    esac
  done
  PYTEST_ARGS=${PYTEST_ARGS:-}
  poweroff() {
    sync
    echo o >/proc/sysrq-trigger
    sleep 10 2>/dev/null || true
  }
  trap poweroff EXIT
  (
    set +e
    cd "$REPO"
    # systemd's mount of the unified hierarchy, and a delegated subtree for the worker.
    mount -t cgroup2 -o nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot \
      cgroup2 /sys/fs/cgroup
    echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control
    mkdir -p /sys/fs/cgroup/taller.service/worker
    echo "$BASHPID" >/sys/fs/cgroup/taller.service/worker/cgroup.procs
    export TALLER_CGROUP_PARENT=/taller.service
    ip link set lo up
    {
      echo "# The sandbox on a cgroup v2 kernel"
      echo
      echo "Run by \`scripts/cgroup2-vm.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
      echo
      echo "| | |"
      echo "|---|---|"
      echo "| kernel | \`$(uname -r)\` ($(uname -v)) |"
      echo "| command line | \`$(cat /proc/cmdline)\` |"
      echo "| cgroup mounts | \`$(awk '$3 ~ /^cgroup/ {print $3, $2, $4}' /proc/mounts | paste -sd';')\` |"
      echo "| controllers on a v1 hierarchy | $(awk 'NR > 1 && $2 != 0 {n++} END {print n + 0}' /proc/cgroups) (\`/proc/cgroups\`) |"
      echo "| root controllers | \`$(cat /sys/fs/cgroup/cgroup.controllers)\` |"
      echo "| enabled for children | \`$(cat /sys/fs/cgroup/cgroup.subtree_control)\` |"
      echo "| worker's cgroup | \`$(cat /proc/self/cgroup)\`, TALLER_CGROUP_PARENT=$TALLER_CGROUP_PARENT |"
      echo "| CPUs, memory | $(nproc), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
      echo
    } >"$OUT/report.md"
    rc=0
    if [ -n "${COMMAND:-}" ]; then
      # CGROUP2_VM_COMMAND: run this instead (looking into a failure by hand).
      bash -c "$COMMAND" >"$OUT/command.log" 2>&1
      echo "$?" >"$OUT/rc"
      exit 0
    fi
    if [ "$ACCEL" = tcg ]; then
      # Emulated, a program takes ~10 times as long: the tests' wall-clock and CPU-time
      # bounds are stretched (tests/sandbox/conftest.py), and so are the exercise's below.
      # The memory, pids and CPU-quota limits stay what they are.
      export TALLER_TEST_SLOWDOWN=8
    fi
    step() {  # step NAME COMMAND...: run it, time it, keep its status
      local name=$1 begin status
      shift
      begin=$(date +%s)
      "$@"
      status=$?
      [ "$status" -eq 0 ] || rc=1
      echo "cgroup2-vm: $name: exit status $status, $(($(date +%s) - begin)) s"
      echo "| $name | exit status $status | $(($(date +%s) - begin)) s |" >>"$OUT/steps.md"
    }
    run_tests() {
      # One pytest for both: its start (Django's imports, read over 9p) costs a minute
      # emulated. The docker backend's tests are left out: they would start podman here.
      # shellcheck disable=SC2086
      timeout 1500 .venv/bin/pytest tests/sandbox tests/grading/test_suite_sandbox.py \
        --ignore=tests/sandbox/test_docker_backend.py -p no:cacheprovider -q -rA \
        --junitxml="$OUT/tests.xml" $PYTEST_ARGS >"$OUT/tests.log" 2>&1
    }
    run_grade() {
      local exercises=$REPO/exercises
      if [ "$ACCEL" = tcg ]; then
        exercises=/tmp/exercises
        mkdir -p "$exercises"
        cp -r "$REPO/exercises/rest-api" "$exercises/"
        sed -i -e 's/^time_limit_seconds = .*/time_limit_seconds = 300/' \
          -e 's/^startup_seconds = .*/startup_seconds = 100/' "$exercises/rest-api/manifest.toml"
      fi
      TALLER_EXERCISES_DIR=$exercises timeout 900 .venv/bin/python manage.py grade rest-api \
        exercises/rest-api/solution --json >"$OUT/grade.json" 2>"$OUT/grade.log" \
        && .venv/bin/python - "$OUT/grade.json" >"$OUT/grade.md" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(f"| grade rest-api (solution) | {doc['status']}, {doc['score']:g}/{doc['max_score']:g} | {doc['execution_time']:g} s in the sandbox |")
sys.exit(0 if doc["status"] == "passed" and doc["score"] == doc["max_score"] else 1)
PY
    }
    no_leftovers() {
      # Nothing of the runs is left in the delegated subtree.
      local leftover
      leftover=$(find /sys/fs/cgroup/taller.service -mindepth 1 -maxdepth 1 -type d ! -name worker)
      echo "leftover cgroups: ${leftover:-none}"
      [ -z "$leftover" ]
    }
    : >"$OUT/steps.md"
    step "tests/sandbox + tests/grading/test_suite_sandbox.py" run_tests
    step "manage.py grade rest-api exercises/rest-api/solution" run_grade
    step "no run cgroup left" no_leftovers
    {
      echo "## Results ($ACCEL)"
      echo
      echo "| step | result | time |"
      echo "|---|---|---|"
      cat "$OUT/steps.md" "$OUT/grade.md" 2>/dev/null
      echo
      echo "pytest: \`$(tail -n 1 "$OUT/tests.log" | tr -d '=' | sed 's/^ *//; s/ *$//')\`"
      echo
      grep -E '^(FAILED|ERROR|SKIPPED)' "$OUT/tests.log" | sed 's/^/    /'
    } >>"$OUT/report.md"
    echo "$rc" >"$OUT/rc"
  ) 2>&1
  exit 0
fi

# ---------------------------------------------------------------------------- host
# (In a function: bash parses it whole before running it, so editing this file while a
# VM runs cannot change what the host does when the VM ends.)
main() {
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/var/cgroup2-vm
CPUS=${CGROUP2_VM_CPUS:-2}
MEM=${CGROUP2_VM_MEM:-3G}
TIMEOUT=${CGROUP2_VM_TIMEOUT:-1800}
# KVM with the CPU's own virtualization (kvm_intel, kvm_amd) when there is one. Some cloud
# VMs offer /dev/kvm through a software hypervisor instead (kvm_pvm): an unmodified kernel
# runs so slowly there (its xz decompression alone takes minutes) that QEMU's own
# translator (TCG, one host thread per vCPU) is many times faster.
if [ -z "${CGROUP2_VM_ACCEL:-}" ]; then
  if [ -c /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
    CGROUP2_VM_ACCEL=kvm
  else
    CGROUP2_VM_ACCEL=tcg
  fi
fi
case "$CGROUP2_VM_ACCEL" in
  # -arch-capabilities: QEMU under nested KVM refuses to start on some hosts that pass
  # the MSR through inconsistently; the guest does not need it.
  kvm) ACCEL=(-accel kvm -cpu host,-arch-capabilities) ;;
  tcg) ACCEL=(-accel tcg,thread=multi -cpu "${CGROUP2_VM_CPU:-max}") ;;
  *) echo "cgroup2-vm: CGROUP2_VM_ACCEL is kvm or tcg" >&2; exit 2 ;;
esac

skip() {
  echo "cgroup2-vm: SKIPPED: $*" >&2
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root (qemu's 9p export of / and the sandbox inside)"
[ -x "$REPO/.venv/bin/pytest" ] && [ -d "$REPO/runtime/node_modules" ] \
  || { echo "cgroup2-vm: run make install first" >&2; exit 1; }

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx switch_root || missing+=(busybox-static)
# The initramfs is a cpio archive; modules come xz- or zstd-compressed.
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
if [ "${#missing[@]}" -gt 0 ]; then
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; } || skip "cannot install ${missing[*]}"
fi
# busybox must be static: it runs in the initramfs before the host's libraries are there.
if ldd /bin/busybox >/dev/null 2>&1; then
  echo "cgroup2-vm: /bin/busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

# Debian's kernel, unpacked (not installed: the host's /boot and /lib/modules stay as they are).
mkdir -p "$OUT/kernel"
package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$package" ] || skip "apt knows no linux-image-amd64 (not Debian, or no package lists)"
KDIR=$OUT/kernel/$package
if [ ! -f "$KDIR/.unpacked" ]; then
  rm -rf "$KDIR" "$OUT/kernel/download"
  mkdir -p "$OUT/kernel/download"
  # apt's sandbox user must be able to write where it downloads.
  chown _apt "$OUT/kernel/download" 2>/dev/null || true
  (cd "$OUT/kernel/download" && apt-get download -qq "$package") \
    || skip "cannot download $package"
  dpkg-deb -x "$OUT"/kernel/download/"$package"_*.deb "$KDIR"
  rm -rf "$OUT/kernel/download"
  touch "$KDIR/.unpacked"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-*)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$KVER

# Bytecode for the repository's own modules: read-only inside, and every suite process
# imports taller_grader afresh (compiling costs seconds emulated).
"$REPO/.venv/bin/python" -m compileall -q -j 2 "$REPO/graders" "$REPO/platform" >/dev/null

# What Python and Node read thousands of files from (the virtualenv, the standard library,
# the shared modules) goes in as an ext4 disk, mounted over the same paths: over 9p each
# file costs round trips to QEMU (Django's setup alone took 90 s emulated).
stage=$OUT/image
rm -rf "$stage" "$OUT/image.ext4"
mkdir -p "$stage"
STDLIB=$("$REPO/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
IMAGED=("$REPO/.venv" "$STDLIB" "$REPO/runtime/node_modules")
for n in "${!IMAGED[@]}"; do
  # Hard links when on the same file system (instant), copies otherwise.
  cp -al "${IMAGED[$n]}" "$stage/$n" 2>/dev/null || cp -a "${IMAGED[$n]}" "$stage/$n"
done
rm -rf "$stage/1/site-packages" "$stage/1/test"  # the venv has its own; the tests are not run
size_mb=$(($(du -sm "$stage" | cut -f1) * 5 / 4 + 64))
mke2fs -q -t ext4 -O ^has_journal -E root_owner=0:0 -d "$stage" "$OUT/image.ext4" "${size_mb}M" \
  >/dev/null
rm -rf "$stage"

# The initramfs: busybox, the modules for a 9p root and the overlay, and /init.
work=$(mktemp -d)
trap 'rm -rf "$work" "$OUT/image.ext4"' EXIT
mkdir -p "$work"/initrd/{bin,dev,proc,sys,lower,upper,newroot,modules}
cp /bin/busybox "$work/initrd/bin/busybox"
MODULES="netfs fscache 9pnet 9p virtio_ring virtio 9pnet_virtio virtio_pci_modern_dev
  virtio_pci_legacy_dev virtio_pci overlay crc32c_generic jbd2 mbcache crc16 ext4 virtio_blk"
for module in $MODULES; do
  file=$(find "$MODDIR/kernel" -name "$module.ko*" | head -n 1)
  [ -n "$file" ] || { echo "cgroup2-vm: module $module not found in $MODDIR" >&2; exit 1; }
  case "$file" in
    *.ko.xz) xz -dc "$file" >"$work/initrd/modules/$module.ko" ;;
    *.ko.zst) zstd -qdc "$file" >"$work/initrd/modules/$module.ko" ;;
    *) cp "$file" "$work/initrd/modules/$module.ko" ;;
  esac
done
cat >"$work/initrd/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(echo $MODULES); do
  insmod /modules/\$module.ko || echo "init: insmod \$module failed"
done
fail() { echo "init: \$*"; echo o >/proc/sysrq-trigger; sleep 10; }
n=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower; do
  n=\$((n + 1)); [ \$n -lt 50 ] || fail "cannot mount the host's root"; sleep 0.1
done
mount -t tmpfs -o mode=755 tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot \
  || fail "cannot mount the overlay"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot$OUT || fail "no out share"
for dir in run tmp var/tmp dev/shm; do
  mount -t tmpfs -o mode=1777 tmpfs /newroot/\$dir
done
chmod 755 /newroot/run
mkdir -p /newroot/run/cgroup2-vm-image
mount -t ext4 -o ro /dev/vda /newroot/run/cgroup2-vm-image || fail "cannot mount the image"
n=0
for dir in ${IMAGED[*]}; do
  mount --bind /newroot/run/cgroup2-vm-image/\$n /newroot\$dir || fail "cannot bind \$dir"
  n=\$((n + 1))
done
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts
mount -t devpts devpts /newroot/dev/pts
exec switch_root /newroot /bin/bash $REPO/scripts/cgroup2-vm.sh --inside
EOF
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

rm -f "$OUT"/{rc,command.log,report.md,steps.md,tests.log,tests.xml,grade.json,grade.log,grade.md}
pytest_args=$(printf '%s' "${CGROUP2_VM_PYTEST_ARGS:-}" | base64 -w0)
append="console=ttyS0 cgroup_no_v1=all panic=-1 loglevel=4 taller.repo=$REPO taller.out=$OUT"
append="$append taller.accel=$CGROUP2_VM_ACCEL"
[ -z "$pytest_args" ] || append="$append taller.pytest=$pytest_args"
[ -z "${CGROUP2_VM_COMMAND:-}" ] \
  || append="$append taller.cmd=$(printf '%s' "$CGROUP2_VM_COMMAND" | base64 -w0)"
echo "cgroup2-vm: booting $KVER ($CGROUP2_VM_ACCEL, $CPUS vCPUs, $MEM) with: $append"
started=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 \
  -machine q35 "${ACCEL[@]}" -smp "$CPUS" -m "$MEM" \
  -nodefaults -display none -no-reboot \
  -chardev stdio,id=console,signal=off -serial chardev:console \
  -kernel "$VMLINUZ" -initrd "$work/initrd.gz" -append "$append" \
  -drive "file=$OUT/image.ext4,format=raw,if=virtio,readonly=on,cache=unsafe" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=none,multidevs=remap" \
  </dev/null || echo "cgroup2-vm: qemu exited with $? after $(($(date +%s) - started)) s" >&2
echo "cgroup2-vm: the VM ran $(($(date +%s) - started)) s"

[ ! -f "$OUT/report.md" ] || cat "$OUT/report.md"
if [ ! -f "$OUT/rc" ]; then
  echo "cgroup2-vm: FAILED: the VM did not finish (no $OUT/rc)" >&2
  exit 1
fi
exit "$(cat "$OUT/rc")"
}

main "$@"
