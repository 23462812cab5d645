#!/usr/bin/python3
"""Benchmark `doveadm migrate` against the built-in baseline and the local-write floor, in ONE run
on the same corpus and machine (see bench/README.md).

    sudo python3 bench/run_bench.py [--messages 10000] [--size-scale 1] [--json out.json]
    sudo python3 bench/run_bench.py --messages 500 --size-scale 0.1      # quick smoke run

Per round, into fresh destination users of one rig (source and destination Dovecot 2.3 on
loopback):
  migrate   doveadm migrate -u migN --source-host 127.0.0.1 --source-port P --source-tls none
            --source-user bench --source-password-file F       (full pass, then nothing-new pass)
  imapc     doveadm -o imapc_* -o mail_prefetch_count=20 backup -R -u imapcN imapc:
            (imapc_features='rfc822.size fetch-headers')          (full, then nothing-new)
  floor     doveadm backup -R -u floorN maildir:<source Maildir>:LAYOUT=fs:INDEX=MEMORY
            (no IMAP at all: the cost of reading the files and saving them locally)
Each is timed with time.monotonic(); peak RSS and CPU of the doveadm process come from GNU time;
"src cpu" is the CPU the source Dovecot (imap + auth + login) used during the run.
Before each run the source files are read once (page cache) so all runs start equally warm.
With --bandwidth MBIT, both IMAP tools reach the source through bench/throttle_proxy.py (a
token bucket per direction at MBIT Mbit/s on 127.0.0.1), the source offers COMPRESS=DEFLATE
(imap_zlib), and migrate runs twice: compressed (the default) and with --no-compress (tool
"nocompress"). imapc in Dovecot 2.3 has no COMPRESS support, so it always sends plain IMAP.
"wire MB" is what crossed the proxy from the source during the full pass.
The migrate module is optional: without a built doveadm module its rows are skipped.
With --pop3, the source also offers POP3 (with its own pop3_uidl_format) and the tool "pop3" runs
migrate with --source-pop3 naming it, so that the UIDL reading and matching shows against
"migrate" (which then runs with --source-pop3 no) on the same corpus ("pop3/migrate").
With --baseline-build DIR (another build, e.g. of an earlier commit in a git worktree), its
doveadm module runs the same migrate command as tool "baseline" in every round, so that a change
is measured against what it changes within one run ("migrate/baseline").
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'dovecot'))
sys.path.insert(0, HERE)

from rig import V24, Rig, dsync_location_args  # noqa: E402
import gen_corpus  # noqa: E402
from throttle_proxy import ThrottleProxy  # noqa: E402

SRC_USER = 'bench'
SRC_PASSWORD = 'bench-pw-0123'
CLK_TCK = os.sysconf('SC_CLK_TCK')
TIME = '/usr/bin/time'   # GNU time (Debian package "time")
# --pop3: the source's UIDLs differ from the destination's default.
POP3_UIDL_FORMAT = 'pop3_uidl_format = bench-%s\n' % ('%{uid}-%{uidvalidity}' if V24 else '%u-%v')


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def measure(argv, timeout):
    """Run argv; return wall seconds (time.monotonic), rc, and peak RSS (KiB) and CPU of the
    command as reported by GNU time (wait4 rusage). GNU time rather than our own wait4(): a
    child forked from this Python process starts with Python's RSS as its high-water mark,
    which would be reported as the peak RSS of every small command."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile('r') as tf:
        full = [TIME, '-o', tf.name, '-f', '%M %U %S %x'] + list(argv)
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        fields = tf.read().split()
        r = {'wall': wall, 'rc': p.returncode, 'maxrss_kib': 0, 'utime': 0.0, 'stime': 0.0,
             'stdout_tail': out.read()[-2000:].decode('utf-8', 'replace'),
             'stderr_tail': err.read()[-4000:].decode('utf-8', 'replace')}
        # A command killed by a signal makes GNU time write "Command terminated by signal N"
        # before the format line.
        if len(fields) >= 4:
            r['maxrss_kib'] = int(fields[-4])
            r['utime'] = float(fields[-3])
            r['stime'] = float(fields[-2])
        return r


class Bench:
    def __init__(self, args):
        self.a = args
        self.results = {}
        self.rig = None
        self.proxy = None   # ThrottleProxy with --bandwidth
        self.baseline_modules = None   # with --baseline-build

    # -------------------------------------------------------------- helpers

    def src_children_cpu(self):
        """CPU seconds of the source master's reaped children (imap, imap-login, auth...)."""
        with open('/proc/%d/stat' % self.rig.src.master_pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / CLK_TCK   # cutime, cstime

    def wait_src_idle(self, timeout=10):
        """Wait until the source has no imap process left (so its CPU is accounted)."""
        import rig as rigmod
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = rigmod._descendants(self.rig.src.master_pid)
            if not any(rigmod._comm(k) == 'imap' for k in kids):
                return
            time.sleep(0.05)

    def warm_source(self):
        """Read every source file once so that each run starts with the same page cache."""
        t0 = time.monotonic()
        n = 0
        for root, _, files in os.walk(self.rig.src_maildir(SRC_USER)):
            for name in files:
                with open(os.path.join(root, name), 'rb') as f:
                    while f.read(1 << 20):
                        pass
                n += 1
        return time.monotonic() - t0

    def run(self, label, argv):
        # Flush the previous runs' dirty pages first: otherwise the first run writes into an
        # empty writeback budget and later runs are throttled flushing their predecessors' data.
        os.sync()
        self.warm_source()
        self.wait_src_idle()
        cpu0 = self.src_children_cpu()
        if self.proxy:
            self.proxy.reset_counters()
        r = measure(argv, self.a.timeout)
        self.wait_src_idle()
        r['src_cpu'] = self.src_children_cpu() - cpu0
        if self.proxy:
            r['wire_down'] = self.proxy.bytes_down
            r['wire_up'] = self.proxy.bytes_up
            log('  through the %g Mbit/s proxy: %.2f MB from the source, %.2f MB to it' % (
                self.a.bandwidth, r['wire_down'] / 1e6, r['wire_up'] / 1e6))
        status = 'ok' if r['rc'] == 0 else 'rc=%d' % r['rc']
        log('%-24s %8.2f s  rss %6.1f MB  cpu %.2f+%.2f s  src cpu %.2f s  %s' % (
            label, r['wall'], r['maxrss_kib'] / 1024, r['utime'], r['stime'], r['src_cpu'],
            status))
        if r['rc'] != 0:
            log('  stderr: ' + r['stderr_tail'][-1500:].replace('\n', '\n  '))
        return r

    def dest_count(self, user):
        return sum(b['messages'] or 0 for b in self.rig.mailboxes('dst', user))

    def migrate_available(self):
        if not self.rig.has_dev_doveadm_module:
            return 'no doveadm module in %s/doveadm_cmd (build the project first)' % \
                self.rig.build_dir
        res = self.rig.doveadm('help')
        listed = res.stdout + res.stderr   # 2.3 prints the list on stderr, 2.4 on stdout
        if '\n  migrate ' not in listed:
            return 'the doveadm module in %s does not register "migrate"' % self.rig.build_dir
        return None

    # -------------------------------------------------------------- the tools

    def cmd_baseline(self, user):
        return self.cmd_migrate(user, modules=self.baseline_modules)

    def cmd_migrate(self, user, extra=(), modules=None):
        tls = self.a.tls
        port = self.rig.src_imaps_port if tls == 'imaps' else self.rig.src_imap_port
        if self.proxy:
            port = self.proxy.port
        argv = ['migrate', '-u', user, '--source-host', '127.0.0.1', '--source-port', str(port),
                '--source-tls', tls, '--source-user', SRC_USER,
                '--source-password-file', self.pwfile]
        if tls != 'none':
            argv += ['--ca-file', self.rig.ca_file]
        if getattr(self.a, 'pop3', False) and not extra and modules is None:
            argv += ['--source-pop3', 'no']
        return self.rig.doveadm_argv(*(argv + self.a.migrate_arg + list(extra)), conf='dst',
                                     modules=modules)

    def cmd_verify(self, user, full=False):
        argv = self.cmd_migrate(user, ['--full'] if full else [])
        argv.insert(argv.index('migrate') + 1, 'verify')
        return argv

    def cmd_pop3(self, user):
        return self.cmd_migrate(user, ['--source-pop3', '127.0.0.1:%d' % self.rig.src_pop3_port,
                                       '-v'])

    def cmd_nocompress(self, user):
        return self.cmd_migrate(user, ['--no-compress'])

    def cmd_imapc(self, user):
        args = self.rig.imapc_args(SRC_USER, SRC_PASSWORD, self.a.tls)
        if self.proxy:
            args = ['imapc_port=%d' % self.proxy.port if a.startswith('imapc_port=') else a
                    for a in args]
        return self.rig.doveadm_argv(*args, 'backup', '-R', '-u', user, 'imapc:', conf='dst')

    def cmd_floor(self, user):
        loc = 'maildir:%s:LAYOUT=fs:INDEX=MEMORY' % self.rig.src_maildir(SRC_USER)
        return self.rig.doveadm_argv('backup', '-R', '-u', user, *dsync_location_args(loc),
                                     conf='dst')

    # -------------------------------------------------------------- main

    def main(self):
        a = self.a
        out = {'started': datetime.datetime.now().isoformat(timespec='seconds'),
               'params': {'messages': a.messages, 'size_scale': a.size_scale, 'tls': a.tls,
                          'no_quota': a.no_quota,
                          'rounds': a.rounds, 'mail_fsync': a.mail_fsync,
                          'bandwidth_mbit': a.bandwidth},
               'env': self.env(), 'rounds': []}
        with Rig(name='bench', dst_quota_rule=None if a.no_quota else '*:storage=1T',
                 mail_fsync=a.mail_fsync,
                 build_dir=a.build_dir, keep=a.keep,
                 src_compress=bool(a.bandwidth),
                 src_protocols=('pop3',) if a.pop3 else (),
                 src_extra_conf=POP3_UIDL_FORMAT if a.pop3 else '') as rig:
            self.rig = rig
            if a.bandwidth:
                port = rig.src_imaps_port if a.tls == 'imaps' else rig.src_imap_port
                self.proxy = ThrottleProxy(('127.0.0.1', port), a.bandwidth)
                self.proxy.start()
                log('throttling proxy on 127.0.0.1:%d -> source port %d at %g Mbit/s' % (
                    self.proxy.port, port, a.bandwidth))
            rig.add_source_user(SRC_USER, SRC_PASSWORD)
            self.pwfile = rig.password_file(SRC_PASSWORD)
            corpus = gen_corpus.bench_corpus(a.messages, a.size_scale)
            log('generating and writing the corpus (%d messages, scale %g) ...' % (
                a.messages, a.size_scale))
            st = rig.load_source(SRC_USER, corpus)
            log('corpus written: %d messages, %.1f MB in %.1f s' % (
                st['messages'], st['bytes'] / 1e6, st['seconds']))
            t0 = time.monotonic()
            boxes = rig.mailboxes('src', SRC_USER)   # the source indexes the maildir once
            rig.doveadm('fetch', '-u', SRC_USER, 'guid flags date.received size.virtual '
                        'hdr.message-id', 'mailbox', '*', conf='src', check=True)
            vsize = sum(b['vsize'] or 0 for b in boxes)
            log('source indexed in %.1f s: %d folders, vsize %.1f MB' % (
                time.monotonic() - t0, len([b for b in boxes if b['selectable']]), vsize / 1e6))
            out['corpus'] = {'messages': st['messages'], 'bytes': st['bytes'], 'vsize': vsize,
                             'folders': len([b for b in boxes if b['selectable']]),
                             'write_seconds': st['seconds']}
            skip = self.migrate_available()
            if skip:
                log('SKIP migrate: ' + skip)
                out['migrate_skipped'] = skip
            if a.baseline_build:
                self.baseline_modules = rig.other_build_modules(a.baseline_build, 'baseline')
            for rnd in range(1, a.rounds + 1):
                order = ['imapc', 'migrate', 'floor']
                if a.bandwidth:
                    order.insert(2, 'nocompress')
                if a.baseline_build:
                    order.insert(2, 'baseline')
                if a.pop3:
                    order.insert(2, 'pop3')
                if rnd % 2 == 0:
                    order.reverse()
                res = {}
                for tool in order:
                    if tool in ('migrate', 'nocompress', 'baseline', 'pop3') and skip:
                        continue
                    user = '%s%d' % (tool, rnd)
                    rig.add_dest_user(user)
                    cmd = getattr(self, 'cmd_' + tool)(user)
                    full = self.run('%s full (r%d)' % (tool, rnd), cmd)
                    full['dest_messages'] = self.dest_count(user)
                    if full['rc'] == 0 and full['dest_messages'] != st['messages']:
                        log('  WARNING: %s copied %d of %d messages' % (
                            tool, full['dest_messages'], st['messages']))
                    again = self.run('%s nothing-new (r%d)' % (tool, rnd), cmd)
                    res[tool] = {'full': full, 'nothing_new': again}
                    if tool == 'migrate' and not a.no_verify:
                        # `migrate verify` of the same mailbox: listing only, then every body.
                        res[tool]['verify'] = self.run('migrate verify (r%d)' % rnd, self.cmd_verify(user))
                        res[tool]['verify_full'] = self.run('migrate verify --full (r%d)' % rnd,
                                                            self.cmd_verify(user, True))
                out['rounds'].append({'order': order, 'results': res})
            if self.proxy:
                self.proxy.stop()
            if a.keep:
                out['rig'] = rig.dir
            log('stopping the rig and removing its files ...')
        out['summary'] = self.summary(out)
        self.print_table(out)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump(out, f, indent=2)
            log('wrote ' + a.json)
        return 0 if all(r['full']['rc'] == 0 and r['nothing_new']['rc'] == 0
                        for rd in out['rounds'] for r in rd['results'].values()) else 1

    @staticmethod
    def env():
        try:
            ver = subprocess.run(['dovecot', '--version'], capture_output=True,
                                 text=True).stdout.strip()
        except OSError:
            ver = '?'
        return {'dovecot': ver, 'kernel': platform.release(), 'python': platform.python_version(),
                'cpus': os.cpu_count(), 'host': platform.node()}

    @staticmethod
    def summary(out):
        """Best (minimum) wall time per tool and phase over the rounds, and the ratios."""
        best = {}
        for rd in out['rounds']:
            for tool, r in rd['results'].items():
                for phase in ('full', 'nothing_new'):
                    x = r[phase]
                    if x['rc'] != 0:
                        continue
                    b = best.setdefault(tool, {}).setdefault(phase, x)
                    if x['wall'] < b['wall']:
                        best[tool][phase] = x
        s = {'best': {t: {p: {'wall': v['wall'], 'maxrss_kib': v['maxrss_kib'],
                              'cpu': v['utime'] + v['stime'], 'src_cpu': v['src_cpu']}
                          for p, v in d.items()} for t, d in best.items()}}

        def ratio(t1, p1, t2, p2):
            try:
                return best[t1][p1]['wall'] / best[t2][p2]['wall']
            except (KeyError, ZeroDivisionError):
                return None
        verify = {}
        for rd in out['rounds']:
            for phase in ('verify', 'verify_full'):
                x = rd['results'].get('migrate', {}).get(phase)
                if x and x['rc'] == 0 and (phase not in verify or x['wall'] < verify[phase]):
                    verify[phase] = x['wall']
        s['verify_seconds'] = verify
        s['ratios'] = {
            'migrate/imapc full': ratio('migrate', 'full', 'imapc', 'full'),
            'migrate/floor full': ratio('migrate', 'full', 'floor', 'full'),
            'imapc/floor full': ratio('imapc', 'full', 'floor', 'full'),
            'migrate/imapc nothing-new': ratio('migrate', 'nothing_new', 'imapc', 'nothing_new'),
        }
        for phase, wall in verify.items():
            full = best.get('migrate', {}).get('full', {}).get('wall')
            s['ratios']['%s/migrate full' % phase.replace('_', ' --')] = wall / full if full else None
        if 'baseline' in best:
            s['ratios']['migrate/baseline full'] = ratio('migrate', 'full', 'baseline', 'full')
            s['ratios']['migrate/baseline nothing-new'] = ratio('migrate', 'nothing_new',
                                                                'baseline', 'nothing_new')
        if 'pop3' in best:
            s['ratios']['pop3/migrate full'] = ratio('pop3', 'full', 'migrate', 'full')
        if 'nocompress' in best:
            s['ratios']['migrate/nocompress full'] = ratio('migrate', 'full', 'nocompress', 'full')
            s['wire_mb_full'] = {t: d['full']['wire_down'] / 1e6
                                 for t, d in best.items() if d.get('full', {}).get('wire_down')}
        c = out.get('corpus', {})
        if c.get('vsize'):
            s['throughput_mb_s'] = {t: c['vsize'] / 1e6 / d['full']['wall']
                                    for t, d in best.items() if 'full' in d}
        return s

    @staticmethod
    def print_table(out):
        c = out.get('corpus', {})
        print()
        print('corpus: %d messages in %d folders, %.1f MB (vsize %.1f MB); Dovecot %s, %s CPUs' % (
            c.get('messages', 0), c.get('folders', 0), c.get('bytes', 0) / 1e6,
            c.get('vsize', 0) / 1e6, out['env']['dovecot'], out['env']['cpus']))
        hdr = '%-8s %-12s %5s %9s %9s %8s %8s %8s %10s' % (
            'round', 'tool', 'rc', 'full s', 'no-new s', 'MB/s', 'cpu s', 'src cpu', 'peak RSS')
        print(hdr)
        print('-' * len(hdr))
        for i, rd in enumerate(out['rounds'], 1):
            for tool in rd['order']:
                r = rd['results'].get(tool)
                if r is None:
                    print('%-8s %-12s %s' % (i, tool, 'skipped: ' + out.get('migrate_skipped', '')))
                    continue
                f, n = r['full'], r['nothing_new']
                rc = f['rc'] if f['rc'] else n['rc']
                mbs = c.get('vsize', 0) / 1e6 / f['wall'] if f['wall'] else 0
                print('%-8s %-12s %5s %9.2f %9.2f %8.1f %8.2f %8.2f %7.1f MB' % (
                    i, tool, rc, f['wall'], n['wall'], mbs, f['utime'] + f['stime'],
                    f['src_cpu'], max(f['maxrss_kib'], n['maxrss_kib']) / 1024))
        print()
        for k, v in out['summary']['ratios'].items():
            print('%-28s %s' % (k, '%.2f' % v if v is not None else 'n/a'))
        for tool, mb in out['summary'].get('wire_mb_full', {}).items():
            print('%-28s %.2f MB' % ('wire from source: ' + tool, mb))
        print()


def main():
    ap = argparse.ArgumentParser(description='Benchmark doveadm migrate vs. doveadm backup '
                                 'imapc: vs. the local-write floor (see bench/README.md).')
    ap.add_argument('--messages', type=int, default=10000)
    ap.add_argument('--size-scale', type=float, default=1.0,
                    help='multiply every message body size (0.1 -> ~100 MB corpus)')
    ap.add_argument('--rounds', type=int, default=1,
                    help='repeat the runs (even rounds in reverse order); best time is reported')
    ap.add_argument('--tls', choices=('none', 'starttls', 'imaps'), default='none')
    ap.add_argument('--mail-fsync', choices=('optimized', 'always', 'never'), default=None,
                    help="mail_fsync for both instances (default: Dovecot's, optimized)")
    ap.add_argument('--migrate-arg', action='append', default=[],
                    help='extra argument for doveadm migrate (repeatable)')
    ap.add_argument('--no-verify', action='store_true',
                    help='leave out the `migrate verify` and `verify --full` runs')
    ap.add_argument('--json', help='write the results as JSON to this path')
    ap.add_argument('--build-dir', default=os.environ.get('MIGRATE_BUILD_DIR',
                                                          os.path.join(HERE, '..', 'build')))
    ap.add_argument('--timeout', type=float, default=3600, help='per command, seconds')
    ap.add_argument('--bandwidth', type=float, default=None, metavar='MBIT',
                    help='reach the source through a throttling proxy of MBIT Mbit/s per '
                         'direction; adds migrate --no-compress ("nocompress") to compare')
    ap.add_argument('--keep', action='store_true', help='keep the rig directory')
    ap.add_argument('--no-quota', action='store_true',
                    help='no quota rule on the destination (by default a 1 TB rule)')
    ap.add_argument('--pop3', action='store_true',
                    help='the source offers POP3; adds migrate --source-pop3 ("pop3") to compare')
    ap.add_argument('--baseline-build', metavar='DIR',
                    help='another build (e.g. an earlier commit): its module runs as "baseline"')
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('run_bench.py needs root (the rig uses unshare -m / mount --bind and chown)')
    sys.exit(Bench(a).main())


if __name__ == '__main__':
    main()
