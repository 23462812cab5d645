#!/usr/bin/python3
"""What other writers on the same file system cost each tool (see bench/README.md, "Under a
concurrent writer"), in ONE run on the same corpus and machine:

    sudo python3 bench/flush_bench.py [--messages 10000] [--writer-mb 4096] [--json out.json]
    sudo python3 bench/flush_bench.py --messages 300 --size-scale 0.05 --writer-mb 64  # smoke

For each condition, quiet and with a writer (--writer-mb MB of zeros into a file in the rig
directory, i.e. the destination's file system: dd at full speed, or paced at --writer-rate
MiB/s; started --writer-lead seconds before the timed command and stopped by its PID when the
command ends), into fresh destination users:
  full       the whole corpus                           migrate and doveadm backup -R imapc:
  no-change  immediately again                          both
  +N         after N new messages in the source INBOX   both (--add, default 100)
  batch      --batch-users mailboxes of messages/users messages each, all at once:
             `migrate batch --jobs N` and N concurrent `doveadm backup -R imapc:`, full and
             again (no-change)
The phases alternate between the tools, so both see the same source. The summary gives every
time, writer/quiet per tool and phase, and migrate/imapc per phase in each condition.
  takeover   (--takeover) a destination that `doveadm backup -R imapc:` filled first (untimed):
             this tool's first pass (it recognises every message), then a pass with nothing new
With --baseline-build DIR, the doveadm module built in DIR runs every migrate phase too (tool
"baseline", e.g. a build of the version that flushed each batch with syncfs()).
"""

import shutil

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run_bench  # noqa: E402  (also puts tests/dovecot on sys.path)
from run_bench import Bench, SRC_PASSWORD, SRC_USER, log, measure  # noqa: E402
from rig import Rig  # noqa: E402
import corpus as rig_corpus  # noqa: E402
import gen_corpus  # noqa: E402

PHASES = ('full', 'no_change', 'plus')


# The paced writer: `mb` MiB of zeros at `rate` MiB/s, 1 MiB per write (buffered, as a mail
# server's writes are), then exit.
PACED_WRITER = """
import sys, time
path, mb, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
chunk = bytes(1 << 20)
t0 = time.monotonic()
with open(path, 'wb') as f:
    for i in range(mb):
        f.write(chunk)
        ahead = (i + 1) / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
"""


class Writer:
    """Writes `mb` MB into `path`, bounded: dd at full speed, or paced at `rate` MiB/s;
    stop() ends it by its PID and removes the file."""

    def __init__(self, path, mb, rate=0):
        self.path = path
        self.mb = mb
        self.rate = rate
        self.proc = None

    def start(self, lead):
        if self.rate > 0:
            argv = [sys.executable, '-c', PACED_WRITER, self.path, str(self.mb), str(self.rate)]
        else:
            argv = ['dd', 'if=/dev/zero', 'of=' + self.path, 'bs=1M', 'count=%d' % self.mb]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(lead)

    def stop(self):
        """MB written (into the page cache) when the measurement ended."""
        written = os.path.getsize(self.path) / 1e6 if os.path.exists(self.path) else 0
        if self.proc.poll() is None:
            self.proc.terminate()   # the dd this object started
        self.proc.wait()
        if os.path.exists(self.path):
            os.unlink(self.path)
        return written


class FlushBench(Bench):
    def tools(self):
        return ('imapc', 'migrate') + (('baseline',) if self.a.baseline_build else ())

    def setup_baseline(self):
        """A copy of the rig's doveadm module dir with the baseline build's module in it."""
        self.baseline_modules = self.rig.doveadm_modules + '-baseline'
        shutil.copytree(self.rig.doveadm_modules, self.baseline_modules)
        for so in self.rig.dev_doveadm_modules():
            os.unlink(os.path.join(self.baseline_modules, os.path.basename(so)))
        old = self.a.baseline_build
        for name in os.listdir(os.path.join(old, 'doveadm_cmd')):
            if name.startswith('lib') and name.endswith('_plugin.so'):
                shutil.copy(os.path.join(old, 'doveadm_cmd', name), self.baseline_modules)

    def cmd_baseline(self, user):
        return [self.baseline_modules if x == self.rig.doveadm_modules else x
                for x in self.cmd_migrate(user)]

    def timed(self, label, argvs, writer):
        """Runs the commands in `argvs` at once (each timed, wall = until the last ends)."""
        os.sync()   # the previous runs' and the writer's dirty pages, untimed
        self.warm_source()
        self.wait_src_idle()
        w = None
        if writer:
            w = Writer(os.path.join(self.rig.dir, 'writer.bin'), self.a.writer_mb,
                       self.a.writer_rate)
            w.start(self.a.writer_lead)
        t0 = time.monotonic()
        try:
            if len(argvs) == 1:
                results = [measure(argvs[0], self.a.timeout)]
            else:
                results = self.measure_parallel(argvs)
        finally:
            wall = time.monotonic() - t0
            written = w.stop() if w else 0
        r = {'wall': wall, 'rc': max((x['rc'] for x in results), key=abs),
             'runs': [{k: x[k] for k in ('wall', 'rc', 'maxrss_kib', 'utime', 'stime')}
                      for x in results],
             'writer_mb': written, 'stderr_tail': results[0]['stderr_tail'][-1500:]}
        log('%-34s %8.2f s  %s%s' % (label, wall, 'ok' if r['rc'] == 0 else 'rc=%d' % r['rc'],
                                      '  (writer: %.0f MB written)' % written if writer else ''))
        if r['rc'] != 0:
            log('  stderr: ' + r['stderr_tail'].replace('\n', '\n  '))
        return r

    def measure_parallel(self, argvs):
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(len(argvs)) as ex:
            return list(ex.map(lambda a: measure(a, self.a.timeout), argvs))

    def add_to_source(self, n, tag):
        for i in range(n):
            msg = rig_corpus.make_message('new %s %d' % (tag, i), 'Arrived between passes.\n' * 40,
                                          msgid='new-%s-%d@bench.example' % (tag, i))
            self.rig.doveadm('save', '-u', SRC_USER, '-m', 'INBOX', input=msg, conf='src',
                             check=True, text=False)
        self.rig.doveadm('fetch', '-u', SRC_USER, 'guid', 'mailbox', 'INBOX', 'all', conf='src',
                         check=True)

    # ------------------------------------------------------------------ the scenarios

    def single(self, cond):
        writer = cond == 'writer'
        tools = self.tools()
        res = {t: {} for t in tools}
        users = {}
        for t in tools:
            users[t] = '%s%s' % (t, cond)
            self.rig.add_dest_user(users[t])
        cmd = {t: getattr(self, 'cmd_' + t)(users[t]) for t in tools}
        for phase in PHASES:
            if phase == 'plus':
                self.add_to_source(self.a.add, cond)
            for t in tools:
                res[t][phase] = self.timed('%s %s (%s)' % (t, phase, cond), [cmd[t]], writer)
        for t in tools:
            res[t]['dest_messages'] = self.dest_count(users[t])
        return res

    def expunge_newest(self, folders):
        """Expunges the newest message of the first `folders` source folders (their UIDNEXT then
        stays above their last message, as after a user deleted their newest mail)."""
        boxes = [b['name'] for b in self.rig.mailboxes('src', SRC_USER)
                 if b['selectable'] and (b['messages'] or 0) > 1][:folders]
        for box in boxes:
            uids = self.rig.doveadm('-f', 'flow', 'search', '-u', SRC_USER, 'mailbox', box, 'all',
                                    conf='src', check=True).stdout.split()
            self.rig.doveadm('expunge', '-u', SRC_USER, 'mailbox', box, 'uid', uids[-1],
                             conf='src', check=True)
        log('expunged the newest message of %s at the source' % ', '.join(boxes))

    def takeover(self, cond):
        """The provider switches tools: `doveadm backup -R imapc:` fills the destination (untimed),
        then this tool's first pass (it recognises every message) and a pass with nothing new."""
        writer = cond == 'writer'
        res = {}
        for t in [x for x in self.tools() if x != 'imapc']:
            user = 'tk%s%s' % (t, cond)
            self.rig.add_dest_user(user)
            self.rig.doveadm(*self.rig.imapc_args(SRC_USER, SRC_PASSWORD), 'backup', '-R', '-u',
                             user, 'imapc:', check=True, timeout=self.a.timeout)
            cmd = getattr(self, 'cmd_' + t)(user)
            res[t] = {phase: self.timed('%s %s (%s)' % (t, phase, cond), [cmd], writer)
                      for phase in ('takeover', 'no_change')}
        return res

    def setup_batch_sources(self):
        n = max(1, self.a.messages // self.a.batch_users)
        users = ['bsrc%d' % i for i in range(1, self.a.batch_users + 1)]
        for user in users:
            self.rig.add_source_user(user, SRC_PASSWORD)
        self.rig.src.wait_users_visible()
        for i, user in enumerate(users, 1):
            self.rig.load_source(user, gen_corpus.BenchCorpus(n, self.a.size_scale, 1000 + i,
                                                              big=0))
            self.rig.doveadm('fetch', '-u', user, 'guid flags date.received size.virtual '
                             'hdr.message-id', 'mailbox', '*', conf='src', check=True)
        return n

    def batch(self, cond):
        writer = cond == 'writer'
        k = self.a.batch_users
        path = os.path.join(self.rig.dir, 'batch-%s.csv' % cond)
        lines = ['source_server,source_user,source_password,source_port,source_tls,target_user']
        imapc = []
        for i in range(1, k + 1):
            mig, imp = 'bm%s%d' % (cond, i), 'bi%s%d' % (cond, i)
            self.rig.add_dest_user(mig)
            self.rig.add_dest_user(imp)
            lines.append('127.0.0.1,bsrc%d,%s,%d,none,%s' % (i, SRC_PASSWORD,
                                                            self.rig.src_imap_port, mig))
            args = self.rig.imapc_args('bsrc%d' % i, SRC_PASSWORD)
            imapc.append(self.rig.doveadm_argv(*args, 'backup', '-R', '-u', imp, 'imapc:',
                                               conf='dst'))
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.chmod(path, 0o600)
        cmds = {'imapc': imapc,
                'migrate': [self.rig.doveadm_argv('migrate', 'batch', '--jobs', str(k), path,
                                                  conf='dst')]}
        if self.a.baseline_build:
            # The batch's children run in its mount namespace: with the baseline's modules.
            bpath = path.replace('.csv', '-baseline.csv')
            with open(bpath, 'w') as f:
                f.write('\n'.join(lines[:1] + [l.replace(',bm', ',bb') for l in lines[1:]]) + '\n')
            os.chmod(bpath, 0o600)
            for i in range(1, k + 1):
                self.rig.add_dest_user('bb%s%d' % (cond, i))
            cmds['baseline'] = [[self.baseline_modules if x == self.rig.doveadm_modules else x
                                 for x in self.rig.doveadm_argv('migrate', 'batch', '--jobs',
                                                                str(k), bpath, conf='dst')]]
        res = {t: {} for t in cmds}
        for phase in ('full', 'no_change'):
            for t, argvs in cmds.items():
                label = 'imapc x%d' % k if t == 'imapc' else '%s batch -j%d' % (t, k)
                res[t][phase] = self.timed('%s %s (%s)' % (label, phase, cond), argvs, writer)
        return res

    def main(self):
        a = self.a
        out = {'started': datetime.datetime.now().isoformat(timespec='seconds'),
               'params': vars(a), 'env': self.env(), 'single': {}, 'batch': {}, 'takeover': {}}
        with Rig(name='flushbench', dst_quota_rule='*:storage=1T', build_dir=a.build_dir,
                 keep=a.keep) as rig:
            self.rig = rig
            skip = self.migrate_available()
            if skip:
                sys.exit('flush_bench: ' + skip)
            if a.baseline_build:
                self.setup_baseline()
            rig.add_source_user(SRC_USER, SRC_PASSWORD)
            self.pwfile = rig.password_file(SRC_PASSWORD)
            log('writing the corpus (%d messages, scale %g) ...' % (a.messages, a.size_scale))
            st = rig.load_source(SRC_USER, gen_corpus.bench_corpus(a.messages, a.size_scale))
            rig.doveadm('fetch', '-u', SRC_USER, 'guid flags date.received size.virtual '
                        'hdr.message-id', 'mailbox', '*', conf='src', check=True)
            out['corpus'] = {'messages': st['messages'], 'bytes': st['bytes']}
            if a.gap_folders:
                self.expunge_newest(a.gap_folders)
            for cond in ('quiet', 'writer'):
                if not a.only_takeover:
                    out['single'][cond] = self.single(cond)
                if a.takeover or a.only_takeover:
                    out['takeover'][cond] = self.takeover(cond)
            if a.batch_users > 0 and not a.only_takeover:
                log('writing %d batch sources ...' % a.batch_users)
                out['batch_messages_each'] = self.setup_batch_sources()
                for cond in ('quiet', 'writer'):
                    out['batch'][cond] = self.batch(cond)
            log('stopping the rig and removing its files ...')
        out['summary'] = summary(out)
        print_summary(out)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump(out, f, indent=2)
            log('wrote ' + a.json)
        ok = all(p['rc'] == 0 for kind in ('single', 'batch', 'takeover')
                 for c in out[kind].values() for t in c.values()
                 for p in t.values() if isinstance(p, dict))
        return 0 if ok else 1


def summary(out):
    s = {'single': {}, 'batch': {}, 'takeover': {}}
    for kind in ('single', 'batch', 'takeover'):
        data = out[kind]
        if not data:
            continue
        for t in ('imapc', 'migrate', 'baseline'):
            for phase in PHASES + ('takeover',):
                try:
                    q = data['quiet'][t][phase]['wall']
                    w = data['writer'][t][phase]['wall']
                except KeyError:
                    continue
                s[kind]['%s %s' % (t, phase)] = {'quiet': q, 'writer': w, 'writer/quiet': w / q}
        for t in ('migrate', 'baseline'):
            for phase in PHASES:
                for cond in ('quiet', 'writer'):
                    try:
                        m = data[cond][t][phase]['wall']
                        i = data[cond]['imapc'][phase]['wall']
                    except KeyError:
                        continue
                    s[kind]['%s/imapc %s %s' % (t, phase, cond)] = m / i
    return s


def print_summary(out):
    print()
    print('corpus: %d messages, %.1f MB; Dovecot %s, %s CPUs' % (
        out['corpus']['messages'], out['corpus']['bytes'] / 1e6, out['env']['dovecot'],
        out['env']['cpus']))
    titles = {'single': 'one mailbox',
              'takeover': 'one mailbox filled by doveadm backup -R imapc: first',
              'batch': '%d mailboxes at once' % out['params']['batch_users']}
    for kind in ('single', 'takeover', 'batch'):
        rows = out['summary'][kind]
        if not rows:
            continue
        print('\n%s' % titles[kind])
        print('%-22s %9s %9s %8s' % ('tool phase', 'quiet s', 'writer s', 'ratio'))
        for k, v in rows.items():
            if isinstance(v, dict):
                print('%-22s %9.2f %9.2f %8.2f' % (k, v['quiet'], v['writer'], v['writer/quiet']))
        for k, v in rows.items():
            if not isinstance(v, dict):
                print('%-34s %.2f' % (k, v))
    print()


def main():
    ap = argparse.ArgumentParser(description='doveadm migrate vs. doveadm backup imapc: quiet and '
                                 'under a concurrent writer (see bench/README.md).')
    ap.add_argument('--messages', type=int, default=10000)
    ap.add_argument('--size-scale', type=float, default=1.0)
    ap.add_argument('--writer-mb', type=int, default=4096, help='MB the concurrent writer writes')
    ap.add_argument('--writer-rate', type=float, default=0,
                    help='MiB/s of the writer (0: dd at full speed)')
    ap.add_argument('--writer-lead', type=float, default=1.0,
                    help='seconds the writer runs before the timed command starts')
    ap.add_argument('--add', type=int, default=100, help='new source messages before the +N pass')
    ap.add_argument('--batch-users', type=int, default=8,
                    help='mailboxes migrated at once (messages/N each); 0 skips the batch')
    ap.add_argument('--takeover', action='store_true',
                    help='also: a destination filled by doveadm backup -R imapc: first')
    ap.add_argument('--only-takeover', action='store_true', help='only that scenario')
    ap.add_argument('--gap-folders', type=int, default=0,
                    help='first expunge the newest message of this many source folders')
    ap.add_argument('--baseline-build', help='also run the doveadm module built in this dir')
    ap.add_argument('--json')
    ap.add_argument('--build-dir', default=os.environ.get('MIGRATE_BUILD_DIR',
                                                          os.path.join(HERE, '..', 'build')))
    ap.add_argument('--timeout', type=float, default=3600)
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    # What Bench's command builders read.
    a.tls, a.migrate_arg, a.bandwidth = 'none', [], None
    if os.geteuid() != 0:
        sys.exit('flush_bench.py needs root (the rig uses unshare -m / mount --bind and chown)')
    sys.exit(FlushBench(a).main())


if __name__ == '__main__':
    main()
