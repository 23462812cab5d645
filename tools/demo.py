#!/usr/bin/python3
"""The demo behind the README's first command (`sudo tools/demo.sh`, which builds first).

Starts two throwaway Dovecot servers on loopback with tests/dovecot/rig.py:
  SOURCE       the "old provider": IMAPS with the rig's self-signed CA; alice has the
               edge-case corpus (non-ASCII folder names, every flag, odd dates, special-use),
               bob has 40 messages of 30 KB;
  DESTINATION  "this server": Maildir++ storage, the quota plugin, the freshly built
               doveadm module mounted in (nothing is installed).
Then it runs the real `doveadm migrate` (printed before it runs), checks the result folder by
folder (message count, flags, dates, bytes, UIDs), runs a delta pass, shows a quota refusal and
the "source is this server" guard, and stops both servers.

    sudo python3 tools/demo.py [--build-dir build] [--keep]

Exit status: 0 when every check passed, 1 when a migration result did not match, 2 when the
demo could not run. Needs root (like the integration tests) and a build with the doveadm
module; Python standard library only.
"""

import argparse
import imaplib
import json
import os
import re
import shlex
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'dovecot'))

import corpus  # noqa: E402
from rig import Rig, RigError, parse_tab, quota_fields  # noqa: E402

MODULE = 'doveadm_cmd/lib95_doveadm_migrate_plugin.so'
LOCAL_MSGID = '<local-after-switch@demo.example>'

BOLD = RESET = GREEN = RED = DIM = ''


def use_colors():
    global BOLD, RESET, GREEN, RED, DIM
    if (sys.stdout.isatty() and os.environ.get('TERM', 'dumb') != 'dumb'
            and 'NO_COLOR' not in os.environ):
        BOLD, RESET, GREEN, RED, DIM = '\033[1m', '\033[0m', '\033[32m', '\033[31m', '\033[2m'


def step(n, title):
    print('\n%s==> %s. %s%s' % (BOLD, n, title, RESET), flush=True)


def say(text=''):
    print(text, flush=True)


def indent(text, prefix='    '):
    if not text.strip():
        return ''
    return ''.join(prefix + line + '\n' for line in text.rstrip('\n').split('\n'))


def width(s):
    """Terminal columns of s (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)


def pad(s, w):
    return s + ' ' * max(0, w - width(s))


def yes_no(ok):
    return (GREEN + 'yes' + RESET) if ok else (RED + 'NO' + RESET)


def table_rows(table_text):
    """doveadm's table output -> list of dicts. Only the last column ("error") may contain
    blanks, so each row splits into at most as many fields as the header has."""
    lines = [l for l in table_text.split('\n') if l.strip()]
    if not lines:
        return []
    head = [h.lower() for h in lines[0].split()]
    tab = ['\t'.join(head)]
    for l in lines[1:]:
        parts = l.split(None, len(head) - 1)
        tab.append('\t'.join(parts + [''] * (len(head) - len(parts))))
    return parse_tab('\n'.join(tab) + '\n')


def dest_name(source_name):
    """Folder mapping rule 4 (docs/admin-guide.md): the destination is Maildir++, which cannot
    keep '.' inside a name, so "Projects.2024" becomes "Projects_2024". Every other name stays
    (the special-use folders have the same names on both sides here)."""
    return '/'.join(level.replace('.', '_') for level in source_name.split('/'))


class Demo:
    def __init__(self, args):
        self.args = args
        self.failures = []
        self.rig = None
        self.alice_cmd = None

    # ------------------------------------------------------------------ helpers

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)
            say('    %sCHECK FAILED:%s %s' % (RED, RESET, what))
        return ok

    def migrate(self, args, keep_line=None, left_out='log lines'):
        """Print the command as an admin types it, run it against the destination and print
        its output: the table (stdout) and doveadm's log lines (stderr), leaving out those for
        which keep_line() is false. Returns (CompletedProcess, rows)."""
        shown = 'doveadm ' + ' '.join(shlex.quote(str(a)) for a in args)
        say('    %s$ %s%s' % (BOLD, shown, RESET))
        t0 = time.monotonic()
        r = self.rig.doveadm(*args)
        took = time.monotonic() - t0
        sys.stdout.write(indent(r.stdout))
        if r.stderr.strip():
            lines = r.stderr.rstrip('\n').split('\n')
            kept = [l for l in lines if keep_line is None or keep_line(l)]
            sys.stdout.write(indent('\n'.join(kept), '    ' + DIM + '| ' + RESET))
            if len(kept) < len(lines):
                say('    %s| (%d %s left out)%s' % (DIM, len(lines) - len(kept), left_out, RESET))
        say('    exit status %d, %.1f s' % (r.returncode, took))
        return r, table_rows(r.stdout)

    def row_is(self, rows, **want):
        return bool(rows) and all(rows[0].get(k) == str(v) for k, v in want.items())

    # ------------------------------------------------------------------ the comparison

    def compare(self, user, local_only_ids=(), show_uids=True):
        """Side-by-side summary of every selectable source folder; records a failed check for
        every difference."""
        rig = self.rig
        src_boxes = {b['name']: b for b in rig.mailboxes('src', user)}
        dst_boxes = {b['name']: b for b in rig.mailboxes('dst', user)}
        src_msgs = rig.messages('src', user)
        by_box = {}
        for m in rig.messages('dst', user):
            by_box.setdefault(m['mailbox'], []).append(m)
        names = sorted((n for n, b in src_boxes.items() if b['selectable']),
                       key=lambda n: (n != 'INBOX', n))
        w_src = max(width(n) for n in names + ['source folder'])
        w_dst = max(width(dest_name(n)) for n in names + ['destination'])
        head = '%s  %s  %6s  %6s  %-5s  %-5s  %-5s' % (
            pad('source folder', w_src), pad('destination', w_dst), 'source', 'here',
            'flags', 'dates', 'bytes')
        say('    ' + BOLD + head + ('  UIDs kept' if show_uids else '') + RESET)

        def proj(msgs, key):
            return sorted((m['sha256'], m['message_id'], m[key]) for m in msgs)

        total_src = total_dst = 0
        any_local = False
        for name in names:
            dname = dest_name(name)
            s = [m for m in src_msgs if m['mailbox'] == name]
            here = by_box.get(dname, [])
            d = [m for m in here if m['message_id'] not in local_only_ids]
            local = len(here) - len(d)
            any_local = any_local or local > 0
            bytes_ok = proj(s, 'vsize') == proj(d, 'vsize')
            flags_ok = proj(s, 'flags') == proj(d, 'flags')
            dates_ok = proj(s, 'date_received') == proj(d, 'date_received')
            ok = bytes_ok and flags_ok and dates_ok and dname in dst_boxes and len(s) == len(d)
            count = '%d' % len(d) + ('+%d' % local if local else '')
            line = '%s  %s  %6d  %6s  %-5s  %-5s  %-5s' % (
                pad(name, w_src), pad(dname, w_dst), len(s), count, yes_no(flags_ok),
                yes_no(dates_ok), yes_no(bytes_ok))
            if show_uids:
                uids_ok = (dst_boxes.get(dname, {}).get('uidvalidity')
                           == src_boxes[name]['uidvalidity']
                           and [m['uid'] for m in s] == sorted(m['uid'] for m in d))
                line += '  ' + yes_no(uids_ok)
                ok = ok and uids_ok
            say('    ' + line)
            total_src += len(s)
            total_dst += len(d)
            self.check(ok, '%s: folder %s -> %s differs' % (user, name, dname))
        # Subscriptions travel too ("Old Stuff" is unsubscribed at the source).
        src_subs = {dest_name(n) for n in names if src_boxes[n]['subscribed']}
        dst_subs = {dest_name(n) for n in names
                    if dst_boxes.get(dest_name(n), {}).get('subscribed')}
        if any_local:
            say('    (+N: delivered here directly, not copied from the source: merged, never '
                'deleted)')
        say('    %d messages at the source, %d copied here; subscriptions match: %s'
            % (total_src, total_dst, yes_no(src_subs == dst_subs)))
        self.check(src_subs == dst_subs, '%s: subscribed only at the source %s, only here %s'
                   % (user, sorted(src_subs - dst_subs), sorted(dst_subs - src_subs)))

    # ------------------------------------------------------------------ the story

    def batch_story(self):
        """Three more mailboxes from the CSV a provider's migration form collects: one with a
        mistyped password. Check first, then migrate; the good ones arrive, the bad one is named
        with its line and cause, and `migrate status` tells what happened to each."""
        rig = self.rig
        users = {'carol': 'carolpw', 'dave': 'davepw', 'erin': 'erinpw'}
        sizes = {}
        for user, pw in users.items():
            c = corpus.simple_corpus(n=15, size=4000, tag=user)
            rig.add_source_user(user, pw)
            rig.load_source(user, c)
            rig.add_dest_user(user, pw, quota='50M')
            sizes[user] = c.total_messages
        path = os.path.join(rig.dir, 'customers.csv')
        header = ('source_server,source_user,source_password,source_port,source_tls,'
                  'target_user,target_password,create_mailbox')
        lines = [header]
        for user, pw in users.items():
            given = 'typo-' + pw if user == 'erin' else pw
            lines.append('127.0.0.1,%s,%s,%d,ssl,%s,,1' % (user, given, rig.src_imaps_port, user))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        say('    %s (mode 0600: it holds passwords), erin\'s password mistyped:' % path)
        for line in lines:
            say('      ' + re.sub(r',([^,]*pw),', ',<password>,', line))
        r, _ = self.migrate(['migrate', 'batch', '--check', '--ca-file', rig.ca_file, path])
        self.check(r.returncode == 77 and 'line 4 erin: failed' in r.stdout
                   and 'line 2 carol: ok' in r.stdout,
                   'batch --check: expected carol ok and erin failed with exit 77')
        report = os.path.join(rig.dir, 'customers.report')
        r, rows = self.migrate(['migrate', 'batch', '--jobs', '3', '--report-dir', report,
                                '--ca-file', rig.ca_file, path])
        got = {u: len(rig.messages('dst', u, content=False)) for u in users}
        self.check(r.returncode == 77, 'batch: expected exit 77 (one login failed)')
        self.check(got == {'carol': sizes['carol'], 'dave': sizes['dave'], 'erin': 0},
                   'batch: expected carol and dave complete, nothing for erin, got %s' % got)
        with open(os.path.join(report, 'report.json')) as f:
            doc = json.load(f)
        say('    %s/report.json: %s' % (report, ', '.join(
            '%s %s' % (u['user'], u['result']) for u in doc.get('mailboxes', []))))
        self.migrate(['migrate', 'status', '-A'])
        r = rig.doveadm('-f', 'json', 'migrate', 'status', '-A')
        states = {row.get('username'): row.get('state') for row in json.loads(r.stdout or '[]')}
        self.check(states.get('carol') == 'ok' and states.get('erin') == 'failed',
                   'status: expected carol ok and erin failed, got %s' % states)
        say('    erin: fix the password in the file and run the same batch again; carol and dave')
        say('    are complete and copy nothing more.')


    def run(self):
        args = self.args
        rig = self.rig = Rig(name='demo', build_dir=args.build_dir, keep=args.keep)
        step(1, 'Starting a SOURCE Dovecot (the old provider) and a DESTINATION Dovecot '
                '(this server)')
        started = False
        try:
            rig.start()
            started = True
            self.story()
        finally:
            if args.keep and started:
                self.print_keep()
                rig.keep_running()   # leave both servers running
            else:
                step(10, 'Stopping both servers')
                rig.close()
                say('    stopped; %s removed' % rig.dir)

    def story(self):
        rig = self.rig
        alice_corpus = corpus.edge_corpus('small')
        rig.add_source_user('alice', 'alicepw')
        rig.load_source('alice', alice_corpus)
        bob_corpus = corpus.simple_corpus(n=40, size=30000, tag='bob')
        rig.add_source_user('bob', 'bobpw')
        rig.load_source('bob', bob_corpus)
        # alice: everything on the command line. bob: his settings come from the userdb, the way
        # a hosting provider feeds a whole customer list (docs/admin-guide.md, section 2).
        rig.add_dest_user('alice', 'alicepw', quota='50M')
        bob_fields = {
            'migrate_source_host': '127.0.0.1',
            'migrate_source_port': rig.src_imaps_port,
            'migrate_source_tls': 'imaps',
            'migrate_ca_file': rig.ca_file,
            'migrate_source_password': 'bobpw',
        }
        rig.add_dest_user('bob', 'bobpw', quota='300K', extra=bob_fields)
        build = os.path.relpath(rig.build_dir, ROOT)
        say('    source:      imaps on 127.0.0.1:%d (self-signed CA %s)'
            % (rig.src_imaps_port, rig.ca_file))
        say('                 alice: %d folders, %d messages (%d KiB): non-ASCII names, every'
            % (len(alice_corpus.folders), alice_corpus.total_messages,
               alice_corpus.total_vsize // 1024))
        say('                 flag, keywords, dates from 1990 to 2039, "Projects.2024" next to '
            '"Projects/2024"')
        say('                 bob:   %d messages (%d KiB)'
            % (bob_corpus.total_messages, bob_corpus.total_vsize // 1024))
        say('    destination: %s (Maildir++, quota plugin; alice 50M, bob 300K)' % rig.dst_conf)
        say('    %sdoveadm below runs with -c %s and %s/%s mounted in%s'
            % (DIM, rig.dst_conf, build, MODULE, RESET))
        say('    %s(as tools/doveadm-dev does); once installed it is plain `doveadm migrate`%s'
            % (DIM, RESET))

        # ---------------------------------------------------------------- first pass
        step(2, 'First pass for alice')
        pw_file = rig.password_file('alicepw', name='alice.password')
        self.alice_cmd = ['migrate', '-u', 'alice', '--source-host', '127.0.0.1',
                          '--source-port', rig.src_imaps_port, '--source-tls', 'imaps',
                          '--ca-file', rig.ca_file, '--source-password-file', pw_file]
        progress = re.compile(r': \d+/\d+ messages$')
        r, rows = self.migrate(self.alice_cmd + ['-v'],
                               keep_line=lambda l: not progress.search(l),
                               left_out='progress lines ("<folder>: n/m messages")')
        self.check(r.returncode == 0 and self.row_is(rows, result='ok'), 'first pass failed')
        self.check(self.row_is(rows, copied=alice_corpus.total_messages),
                   'first pass did not copy %d messages' % alice_corpus.total_messages)

        step(3, 'Source and destination side by side (alice)')
        self.compare('alice')

        # ---------------------------------------------------------------- nothing new
        step(4, 'The same command again: nothing is new, nothing is copied')
        r, rows = self.migrate(self.alice_cmd)
        self.check(r.returncode == 0 and self.row_is(rows, result='ok', copied=0, skipped=0),
                   'second pass copied something')

        # ---------------------------------------------------------------- delta
        step(5, 'Delta pass: new mail and a flag change at the old server, mail delivered here')
        self.make_changes()
        changed = re.compile(r'(: [1-9]\d* copied|flag update|Warning|Error)')
        r, rows = self.migrate(self.alice_cmd + ['-v'],
                               keep_line=lambda l: bool(changed.search(l)),
                               left_out='log lines about folders with nothing new')
        self.check(r.returncode == 0 and self.row_is(rows, result='ok', copied=2),
                   'delta pass did not copy the 2 new messages')
        self.check('1 flag updates' in r.stderr, 'delta pass did not carry the flag change')
        self.compare('alice', local_only_ids=(LOCAL_MSGID,), show_uids=False)
        local = [m for m in rig.messages('dst', 'alice', content=False)
                 if m['message_id'] == LOCAL_MSGID]
        say('    the message delivered here after the switch is still in INBOX: %s'
            % yes_no(len(local) == 1))
        self.check(len(local) == 1, 'the locally delivered message is gone')

        # ---------------------------------------------------------------- quota
        step(6, 'bob: settings from the userdb, and a quota too small for his mail')
        say("    bob's userdb entry (passwd-file extra fields):")
        say('      ' + ' '.join('userdb_%s=%s' % kv for kv in quota_fields(storage='300K').items()) +
            ' ' + ' '.join(
            'userdb_%s=%s' % (k, '<password>' if 'password' in k else v)
            for k, v in bob_fields.items()))
        r, rows = self.migrate(['migrate', '-u', 'bob'])
        self.check(r.returncode == 73 and 'insufficient space' in r.stdout,
                   'bob: expected "insufficient space" and exit status 73')
        n = len(rig.messages('dst', 'bob', content=False))
        say('    exit status 73 (EX_CANTCREAT) = quota; messages copied for bob: %d' % n)
        self.check(n == 0, 'bob: the quota pre-check let messages through')
        say("    raising bob's quota to 5M, as the hint says, and running the same command again:")
        rig.add_dest_user('bob', 'bobpw', quota='5M', extra=bob_fields)
        r, rows = self.migrate(['migrate', '-u', 'bob'])
        self.check(r.returncode == 0 and self.row_is(rows, copied=bob_corpus.total_messages),
                   'bob: the second run did not copy everything')

        # ---------------------------------------------------------------- a customer list
        step(7, 'A customer list: pre-flight check, batch, status')
        self.batch_story()

        # ---------------------------------------------------------------- the DNS trap
        step(8, 'The delta-pass trap: --source-host now points at this server')
        say('    (after the MX/DNS switch the old host name may resolve to the new server;')
        say('    here the "old server" given is the destination itself, whose demo IMAP port')
        say('    has no TLS)')
        trap = ['migrate', '-u', 'alice', '--source-host', '127.0.0.1', '--source-port',
                rig.dst_imap_port, '--source-tls', 'none', '--source-password-file', pw_file]
        r, rows = self.migrate(trap)
        self.check(r.returncode == 78 and 'is this server' in r.stdout,
                   'the "source is this server" guard did not trigger')
        say("    Nothing was copied. After the DNS switch, give the old server's IP address (or")
        say('    another name its certificate covers): messages already copied are recognised')
        say('    and not downloaded again. See docs/admin-guide.md, runbook.')

        step(9, 'Result')
        if self.failures:
            say('    %s%d check(s) failed:%s' % (RED, len(self.failures), RESET))
            for f in self.failures:
                say('      - ' + f)
        else:
            say('    %sall checks passed%s: every message, flag, date and byte arrived; re-runs'
                % (GREEN, RESET))
            say('    copy only what is new; the quota check and the "source is this server" guard')
            say('    stop cleanly.')
            say('    Next: docs/admin-guide.md (runbook, folder mapping, every error message),')
            say('          man -l docs/doveadm-migrate.1')

    def make_changes(self):
        rig = self.rig
        c = rig.imap_login(rig.src_imaps_port, 'alice', 'alicepw', tls='imaps')
        try:
            for i in (1, 2):
                msg = corpus.make_message('New at the old server %d' % i,
                                          'Arrived after the first pass.\n',
                                          msgid='new-after-first-pass-%d@demo.example' % i,
                                          date=1710000000 + i)
                c.append('INBOX', None, imaplib.Time2Internaldate(1710000000 + i), msg)
            c.select('Sent')
            c.uid('STORE', '1', '+FLAGS', r'(\Flagged)')
        finally:
            c.logout()
        say('    at the source: 2 new messages in INBOX (IMAP APPEND), \\Flagged set on Sent UID 1')
        local = corpus.make_message('Delivered here after the MX switch', 'Local mail.\n',
                                    msgid=LOCAL_MSGID.strip('<>'), date=1710000100)
        rig.doveadm('save', '-u', 'alice', '-m', 'INBOX', input=local, text=False, check=True)
        say("    here: 1 message delivered to alice's INBOX (doveadm save), as after the MX switch")

    def print_keep(self):
        rig = self.rig
        q = shlex.quote
        src, dst = q(rig.src_conf), q(rig.dst_conf)
        say('\n%s==> The servers keep running (--keep). Poke at them:%s' % (BOLD, RESET))
        say('    doveadm -c %s mailbox status -u alice "messages uidvalidity" "*"' % src)
        say('    doveadm -c %s mailbox list -u alice' % dst)
        say('    doveadm -c %s fetch -u alice "uid flags date.received" mailbox INBOX all' % dst)
        say('    doveadm -c %s quota get -u bob' % dst)
        if self.alice_cmd:
            say('    %s %s -c %s \\\n        %s' % (
                q(os.path.join(ROOT, 'tools', 'doveadm-dev')), q(rig.build_dir), dst,
                ' '.join(q(str(a)) for a in self.alice_cmd)))
        say('    cat %s/dovecot-migrate.*.state   # the state file' % q(rig.state_dir('alice')))
        say('    IMAP: source imaps 127.0.0.1:%d, destination imap 127.0.0.1:%d'
            % (rig.src_imaps_port, rig.dst_imap_port))
        say('          (alice/alicepw, bob/bobpw)')
        say('    logs: %s' % ', '.join(rig.log_paths().values()))
        say('    stop: doveadm -c %s stop; doveadm -c %s stop; rm -rf %s' % (src, dst, q(rig.dir)))


def main():
    ap = argparse.ArgumentParser(
        description='dovecot-migrate demo: two throwaway Dovecot servers on loopback and a real '
                    '`doveadm migrate` between them')
    ap.add_argument('--build-dir',
                    default=os.environ.get('MIGRATE_BUILD_DIR', os.path.join(ROOT, 'build')),
                    help='build directory holding %s (default: build/)' % MODULE)
    ap.add_argument('--keep', action='store_true',
                    help='leave both servers running at the end and print how to poke at them')
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    use_colors()
    if os.geteuid() != 0:
        sys.stderr.write('demo: run as root (sudo): the servers run as mail uid 20001, and '
                         'doveadm needs a private mount namespace for the module\n')
        return 2
    module = os.path.join(args.build_dir, MODULE)
    if not os.path.exists(module):
        sys.stderr.write('demo: %s is missing: build first (sudo tools/demo.sh builds into '
                         'build/)\n' % module)
        return 2
    demo = Demo(args)
    t0 = time.monotonic()
    try:
        demo.run()
    except RigError as e:
        sys.stderr.write('demo: the test servers failed: %s\n' % e)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('demo: interrupted\n')
        return 2
    say('\n(%.0f s)' % (time.monotonic() - t0))
    return 1 if demo.failures else 0


if __name__ == '__main__':
    sys.exit(main())
