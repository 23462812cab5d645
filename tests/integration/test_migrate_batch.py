"""`doveadm migrate batch FILE` against real Dovecot: every input format end to end with several
users at once (--jobs), a batch where one line has a wrong password and one a dead server (the
others migrate, the report says why each failed, the exit code is not 0), a broken file that runs
nothing, a re-run that copies nothing again, report.json and the per-user logs, `--check`,
--repeat-until-idle, SIGTERM (running mailboxes stop with their state saved, the rest are marked
"not started", the next run finishes), and that no password shows up anywhere."""

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_NOPERM, EX_TEMPFAIL, Rig, corpus, expected_messages, project, proc_cmdline,
    read_status, secret_leaks)

from rig import free_ports, preset_conf  # noqa: E402

EX_DATAERR = 65
EX_NOUSER = 67

# Source accounts: name -> password. Every password is distinctive, to grep for leaks.
SRC = {'alice': 'Alice-Pw-7731', 'bob': 'Bob-Pw-3344', 'carol': 'Carol-Pw-2214',
       'dave': 'Dave-Pw-9001', 'erin': 'Erin-Pw-4410', 'frank': 'Frank-Pw-5521',
       'gina': 'Gina-Pw-6632', 'hank': 'Hank-Pw-1188', 'ivan': 'Ivan-Pw-3377',
       'slow1': 'Slow1-Pw-0001', 'slow2': 'Slow2-Pw-0002', 'slow3': 'Slow3-Pw-0003',
       'rep': 'Rep-Pw-1212', 'judy': 'Judy-Pw-4545', 'kate': 'Kate-Pw-7878',
       'slowname': 'Slowname-Pw-3131', 'slowip': 'Slowip-Pw-4242',
       'slowpreset1': 'Slowpreset1-Pw-5353', 'slowpreset2': 'Slowpreset2-Pw-6464'}
# What frank's lines give instead of his password (distinctive too).
FRANK_WRONG = 'Frank-Wrong-Pw-8080'
# Destination users (added up front: each passwd-file change takes ~1 s to be seen).
DEST = ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivan', 'slow1', 'slow2',
        'slow3', 'rep', 'judy', 'kate', 'slowname', 'slowip', 'slowpreset1', 'slowpreset2')


class BatchTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-batch')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(4, folders=(('INBOX',), ('Work',)), tag='batch')
        cls.slow_corpus = corpus.simple_corpus(60, folders=(('INBOX',), ('Work',)), tag='slow',
                                               size=2000)
        for user, pw in SRC.items():
            cls.rig.add_source_user(user, pw)
            cls.rig.load_source(user, cls.slow_corpus if user.startswith('slow') else cls.corpus)
        for user in DEST:
            cls.rig.add_dest_user(user)
        cls.port = cls.rig.src_imap_port

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    # ------------------------------------------------------------------ helpers

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.rig.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def batch(self, *args, timeout=300):
        argv = self.rig.doveadm_argv('migrate', 'batch', *args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           errors='surrogateescape', stdin=subprocess.DEVNULL)
        return r

    def plain(self, *extra):
        """Source options for lines without a host: the rig's plain port, no TLS."""
        return ('-H', '127.0.0.1', '-P', str(self.port), '-T', 'none') + extra

    def describe(self, r):
        return 'rc %s\n--- stdout ---\n%s\n--- stderr ---\n%s' % (r.returncode, r.stdout, r.stderr)

    def report(self, report_dir):
        with open(os.path.join(report_dir, 'report.json')) as f:
            return json.load(f)

    def by_user(self, report):
        return {m['user']: m for m in report['mailboxes']}

    def assert_migrated(self, user, c=None):
        self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                         expected_messages(self.rig, c or self.corpus), user)

    def assert_no_password_leaks(self, report_dir, *outputs, wrong=()):
        """No password of SRC, nor the `wrong` (user, password) pairs of the batch file, in the
        batch's outputs, the report dir, either Dovecot log or the users' dovecot-migrate.* files."""
        for user, pw in list(SRC.items()) + list(wrong):
            found = secret_leaks(self.rig, pw, user, dirs=[report_dir])
            found += ['output %d' % i for i, out in enumerate(outputs) if pw in out]
            self.assertEqual(found, [], "%s's password %r" % (user, pw))

    # ------------------------------------------------------------------ formats

    def test_pairs_format_with_jobs_then_an_incremental_rerun(self):
        users = ('alice', 'bob', 'carol')
        text = '# pairs: login password\n' + ''.join('%s %s\n' % (u, SRC[u]) for u in users)
        path = self.write('pairs.txt', text)
        rdir = os.path.join(self.rig.dir, 'pairs-report')
        r = self.batch(*self.plain('--jobs', '3', '--report-dir', rdir), path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        for u in users:
            self.assert_migrated(u)
        # one line per mailbox as it finishes, then the summary table
        for n, u in enumerate(users, start=2):
            self.assertIn('line %d %s: ok, 8 copied' % (n, u), r.stdout)
        self.assertRegex(r.stdout, r'(?m)^line +user +result +copied +skipped +failed +bytes +seconds +reason')
        self.assertIn('3 mailboxes: 3 ok; 24 messages copied', r.stderr)
        report = self.report(rdir)
        self.assertEqual(report['command'], 'batch')
        self.assertEqual(report['format'], 'pairs')
        self.assertEqual(report['exit_code'], 0)
        self.assertEqual(report['jobs'], 3)
        self.assertEqual(report['options']['source-port'], str(self.port))
        self.assertEqual(report['totals']['ok'], 3)
        self.assertEqual(report['totals']['copied'], 24)
        boxes = self.by_user(report)
        self.assertEqual([boxes[u]['line'] for u in users], [2, 3, 4])
        for u in users:
            self.assertEqual(boxes[u]['result'], 'ok')
            self.assertEqual(boxes[u]['copied'], 8)
            self.assertEqual(boxes[u]['folders'], 2)
            self.assertTrue(os.path.exists(boxes[u]['log']), boxes[u])
        # each log starts with the child's command line (no password in it)
        with open(boxes['alice']['log']) as f:
            head = f.readline()
        self.assertIn('migrate -u alice', head)
        self.assertIn('--source-password-stdin', head)
        self.assert_no_password_leaks(rdir, r.stdout, r.stderr)
        # each child's run status says it ran from a batch (MIGRATE_TRIGGER=batch)
        status = json.loads(self.rig.doveadm('-f', 'json', 'migrate', 'status', '-u', 'alice',
                                             check=True).stdout)
        self.assertEqual((status[0]['state'], status[0]['trigger']), ('ok', 'batch'))

        # again: nothing new, nothing copied twice
        r2 = self.batch(*self.plain('--report-dir', rdir), path)
        self.assertEqual(r2.returncode, 0, self.describe(r2))
        self.assertEqual(self.report(rdir)['totals']['copied'], 0)
        for u in users:
            self.assert_migrated(u)
            self.assertIn('line', r2.stdout)

    def test_csv_format_with_its_own_host_port_and_tls_columns(self):
        text = ('source_server,source_user,source_password,source_port,source_tls,target_user,'
                'target_password,create_mailbox\n'
                '127.0.0.1,dave,%s,%d,none,dave,ignored-target-pw,1\n' % (SRC['dave'], self.port))
        path = self.write('batch.csv', text)
        rdir = os.path.join(self.rig.dir, 'csv-report')
        r = self.batch('-r', rdir, path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assert_migrated('dave')
        report = self.report(rdir)
        self.assertEqual(report['format'], 'csv')
        box = self.by_user(report)['dave']
        self.assertEqual(box['source'], '127.0.0.1:%d' % self.port)
        self.assertEqual(box['source_user'], 'dave')
        self.assertNotIn('ignored-target-pw', json.dumps(report))

    def test_semicolon_format_and_default_report_dir_next_to_the_file(self):
        path = self.write('batch.ssv', 'hank;127.0.0.1;hank;%s\n' % SRC['hank'])
        r = self.batch('-P', str(self.port), '-T', 'none', path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assert_migrated('hank')
        dirs = glob.glob(path + '.report-*')
        self.assertEqual(len(dirs), 1, dirs)
        self.assertEqual(os.stat(dirs[0]).st_mode & 0o777, 0o700)
        self.assertEqual(self.report(dirs[0])['format'], 'semicolon')
        self.assertIn('report: %s/report.json' % dirs[0], r.stderr)

    # ------------------------------------------------------------------ failures

    def test_wrong_password_and_dead_server_among_good_lines(self):
        dead_port = free_ports(1)[0]
        text = ('source_server,source_user,source_password,source_port,source_tls,target_user\n'
                '127.0.0.1,erin,%s,%d,none,erin\n'
                '127.0.0.1,frank,%s,%d,none,frank\n'
                '127.0.0.1,gina,%s,%d,none,gina\n'
                % (SRC['erin'], self.port, FRANK_WRONG, self.port, SRC['gina'], dead_port))
        path = self.write('mixed.csv', text)
        rdir = os.path.join(self.rig.dir, 'mixed-report')
        r = self.batch('-r', rdir, path)
        # EX_TEMPFAIL wins the merge (a dead server may come back: run the batch again)
        self.assertEqual(r.returncode, EX_TEMPFAIL, self.describe(r))
        self.assert_migrated('erin')
        self.assertEqual(self.rig.messages('dst', 'frank'), [])
        self.assertEqual(self.rig.messages('dst', 'gina'), [])
        boxes = self.by_user(self.report(rdir))
        self.assertEqual(boxes['erin']['result'], 'ok')
        self.assertEqual(boxes['frank']['result'], 'failed')
        self.assertEqual(boxes['frank']['exit_code'], EX_NOPERM)
        self.assertIn("login as 'frank' failed", boxes['frank']['reason'])
        self.assertIn('check the password', boxes['frank']['reason'])
        self.assertEqual(boxes['gina']['result'], 'failed')
        self.assertEqual(boxes['gina']['exit_code'], EX_TEMPFAIL)
        self.assertIn('refused', boxes['gina']['reason'].lower())
        self.assertIn("line 3 frank: failed", r.stdout)
        self.assertIn("line 4 gina: failed", r.stdout)
        # the child's error, prefixed with the user, on our stderr and in its log
        self.assertRegex(r.stderr, r"(?m)^frank: doveadm\(frank\): Error: .*login as 'frank' failed")
        with open(boxes['frank']['log']) as f:
            self.assertIn("login as 'frank' failed", f.read())
        self.assertIn('3 mailboxes: 2 failed, 1 ok', r.stderr)
        self.assert_no_password_leaks(rdir, r.stdout, r.stderr, wrong=[('frank', FRANK_WRONG)])

    def test_per_host_cap_counts_a_name_and_its_address_as_one_server(self):
        # Provider CSVs name the same old server in different ways. With --max-connections 1,
        # a line with its host name and a line with its IP address must not run at once.
        try:
            names = {a[4][0] for a in socket.getaddrinfo('localhost', None)}
        except OSError:
            names = set()
        name = 'localhost' if '127.0.0.1' in names else '127.1'   # inet_aton's short form
        text = ('source_server,source_user,source_password,source_port,source_tls,target_user\n'
                '%s,slowname,%s,%d,none,slowname\n'
                '127.0.0.1,slowip,%s,%d,none,slowip\n'
                % (name, SRC['slowname'], self.port, SRC['slowip'], self.port))
        path = self.write('cap.csv', text)
        rdir = os.path.join(self.rig.dir, 'cap-report')
        # each mailbox takes ~2.5 s at this rate, so two runs at once would overlap by seconds
        r = self.batch('-j', '4', '--max-connections', '1', '--max-rate', '100K', '-r', rdir, path)
        self.assert_ran_one_after_the_other(r, 'slowname', 'slowip')

    def test_admin_preset_max_connections_caps_the_batch(self):
        # An admin preset in dovecot.conf caps the batch per source server as a built-in preset
        # does, without --max-connections.
        text = ('source_server,source_user,source_password,source_port,source_tls,target_user\n'
                '127.0.0.1,slowpreset1,%s,%d,none,slowpreset1\n'
                '127.0.0.1,slowpreset2,%s,%d,none,slowpreset2\n'
                % (SRC['slowpreset1'], self.port, SRC['slowpreset2'], self.port))
        path = self.write('preset-cap.csv', text)
        rdir = os.path.join(self.rig.dir, 'preset-cap-report')
        argv = self.rig.doveadm_argv('migrate', 'batch', '-j', '4', '--preset', 'onebyone',
                                     '--max-rate', '100K', '-r', rdir, path)
        self.rig.set_dest_extra_conf(preset_conf('onebyone', {'max_connections': '1'}),
                                     reload=False)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
        finally:
            self.rig.set_dest_extra_conf('', reload=False)
        self.assert_ran_one_after_the_other(r, 'slowpreset1', 'slowpreset2')

    def assert_ran_one_after_the_other(self, r, *users):
        """The batch succeeded, and the users' runs (their run status's start and finish times)
        did not overlap."""
        self.assertEqual(r.returncode, 0, self.describe(r))
        runs = []
        for u in users:
            self.assert_migrated(u, self.slow_corpus)
            st = read_status(self.rig, u)
            runs.append((int(st['started']), int(st['finished']), u))
        runs.sort()
        for earlier, later in zip(runs, runs[1:]):
            self.assertGreaterEqual(later[0], earlier[1], 'two lines ran at once: %r\n%s' % (
                runs, self.describe(r)))

    def test_broken_file_runs_nothing(self):
        text = ('ivan %s\n' % SRC['ivan']) + 'lonely-login-without-password\n'
        path = self.write('broken.txt', text)
        rdir = os.path.join(self.rig.dir, 'broken-report')
        r = self.batch(*self.plain('-r', rdir), path)
        self.assertEqual(r.returncode, EX_DATAERR, self.describe(r))
        self.assertRegex(r.stderr, r'(?m)^line 2: ')
        self.assertIn('nothing was run', r.stderr)
        self.assertFalse(os.path.exists(rdir))
        self.assertEqual(self.rig.messages('dst', 'ivan'), [])

    def test_bad_options_run_nothing(self):
        path = self.write('ok.txt', 'ivan %s\n' % SRC['ivan'])
        for args, words in ((('--jobs', '0'), '--jobs'), (('--format', 'xml'), 'format'),
                            (('--repeat-until-idle', 'soon'), 'repeat-until-idle'),
                            (('--source-port', '99999'), 'source-port')):
            r = self.batch(*(self.plain() + args), path)
            self.assertEqual(r.returncode, 64, self.describe(r))
            self.assertIn(words, r.stderr)
        r = self.batch(*self.plain(), path + '.missing')
        self.assertEqual(r.returncode, 66, self.describe(r))
        self.assertEqual(self.rig.messages('dst', 'ivan'), [])

    def test_world_readable_file_warns(self):
        path = self.write('open.txt', 'ivan wrong-pw\n', mode=0o644)
        r = self.batch(*self.plain('--check'), path)
        self.assertIn('holds passwords but can be read by everyone (mode 0644): chmod 600', r.stderr)

    # ------------------------------------------------------------------ --check

    def test_check_lines_copy_nothing(self):
        text = 'ivan %s\nfrank %s\n' % (SRC['ivan'], FRANK_WRONG)
        path = self.write('check.txt', text)
        rdir = os.path.join(self.rig.dir, 'check-report')
        r = self.batch(*self.plain('--check', '-r', rdir), path)
        self.assertEqual(r.returncode, EX_NOPERM, self.describe(r))
        self.assertRegex(r.stdout, r'(?m)^line 1 ivan: ok, 8 messages in 2 folders, 8 to copy '
                                   r'\(.*\), fits the quota \(1\.0 GiB free\)$')
        self.assertRegex(r.stdout, r"(?m)^line 2 frank: failed: login as 'frank' failed")
        self.assertIn('2 mailboxes: 1 failed, 1 ok', r.stderr)
        self.assertEqual(self.rig.messages('dst', 'ivan'), [])
        report = self.report(rdir)
        self.assertTrue(report['dry_run'])
        ivan = self.by_user(report)['ivan']
        self.assertEqual(ivan['source_messages'], 8)
        self.assertEqual(ivan['pending'], 8)
        self.assert_no_password_leaks(rdir, r.stdout, r.stderr, wrong=[('frank', FRANK_WRONG)])

    def test_migrate_options_reach_every_child(self):
        path = self.write('exclude.txt', 'judy %s\n' % SRC['judy'])
        rdir = os.path.join(self.rig.dir, 'exclude-report')
        argv = self.rig.doveadm_argv('-o', 'mail_fsync=never', 'migrate', 'batch',
                                     *self.plain('--exclude', 'Work', '-v', '-r', rdir), path)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, self.describe(r))
        # doveadm's own -o settings too (the log's first line is the child's command line)
        with open(os.path.join(rdir, 'judy.log')) as f:
            head = f.readline()
        self.assertIn(' -o mail_fsync=never -f json migrate -u judy ', head)
        self.assertIn(' --exclude Work', head)
        boxes = {m['mailbox'] for m in self.rig.messages('dst', 'judy', content=False)}
        self.assertEqual(boxes, {'INBOX'})
        self.assertIn('line 1 judy: ok, 4 copied', r.stdout)
        # -v reached the child too: its progress lines, prefixed with the user
        self.assertRegex(r.stderr, r'(?m)^judy: doveadm\(judy\): Info: migrate\(judy\): ')

    def test_notify_mails_the_summary(self):
        sink = SmtpSink()
        sink.start()
        try:
            self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % sink.port,
                                         reload=False)
            path = self.write('notify.txt', 'kate %s\nfrank wrong-pw\n' % SRC['kate'])
            r = self.batch(*self.plain('--notify', 'postmaster@example.org'), path)
            self.assertEqual(r.returncode, EX_NOPERM, self.describe(r))
        finally:
            self.rig.set_dest_extra_conf('', reload=False)
            sink.stop()
        self.assertEqual(len(sink.messages), 1, self.describe(r))
        rcpt, data = sink.messages[0]
        self.assertEqual(rcpt, ['<postmaster@example.org>'])
        self.assertIn('2 mailboxes: 1 failed, 1 ok', data)
        self.assertIn('line 1 kate: ok, 8 copied', data)
        self.assertIn("line 2 frank: failed", data)
        self.assertIn('report.json', data)
        self.assertNotIn(SRC['kate'], data)

    # ------------------------------------------------------------------ repeat, signals

    def test_repeat_until_idle_stops_after_a_quiet_pass(self):
        path = self.write('repeat.txt', 'rep %s\n' % SRC['rep'])
        rdir = os.path.join(self.rig.dir, 'repeat-report')
        r = self.batch(*self.plain('--repeat-until-idle', '1s,2s', '-r', rdir), path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assert_migrated('rep')
        self.assertIn('pass 1: 8 messages copied', r.stdout)
        self.assertIn('pass 2: 0 messages copied', r.stdout)
        self.assertIn('idle: nothing new copied', r.stdout)
        report = self.report(rdir)
        self.assertEqual(report['earlier_passes'][0]['copied'], 8)
        self.assertEqual(report['options']['repeat-until-idle'], '1s,2s')

    def test_sigterm_stops_running_children_and_the_rerun_finishes(self):
        users = ('slow1', 'slow2', 'slow3')
        path = self.write('slow.txt', ''.join('%s %s\n' % (u, SRC[u]) for u in users))
        rdir = os.path.join(self.rig.dir, 'slow-report')
        argv = self.rig.doveadm_argv('migrate', 'batch', *self.plain('-j', '1', '--max-rate', '10K',
                                                                     '-r', rdir), path)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        # wait until the first child has copied something
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.rig.messages('dst', 'slow1', content=False)) < 5:
            time.sleep(0.2)
        # SIGTERM the batch doveadm itself (the rig runs it as unshare -> sh -> exec doveadm)
        target = p.pid
        for child in _children(p.pid):
            argv_words = proc_cmdline(child)
            if b'batch' in argv_words and argv_words[0].endswith(b'doveadm'):
                target = child
                break
        os.kill(target, signal.SIGTERM)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, EX_TEMPFAIL, out + err)
        self.assertIn('stopping (signal 15)', err)
        report = self.report(rdir)
        self.assertTrue(report['interrupted'])
        boxes = self.by_user(report)
        self.assertEqual(boxes['slow2']['result'], 'not started')
        self.assertEqual(boxes['slow3']['result'], 'not started')
        self.assertEqual(report['totals']['not_started'], 2)
        first = len(self.rig.messages('dst', 'slow1', content=False))
        self.assertLess(first, 120)

        r = self.batch(*self.plain('-j', '3', '-r', rdir), path)
        self.assertEqual(r.returncode, 0, self.describe(r))
        for u in users:
            self.assert_migrated(u, self.slow_corpus)
        self.assert_no_password_leaks(rdir, out, err, r.stdout, r.stderr)


class SmtpSink(threading.Thread):
    """A minimal SMTP server on loopback that accepts every message: (recipients, data)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.done = False

    def stop(self):
        self.done = True
        self.join(5)
        self.sock.close()

    def run(self):
        while not self.done:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(30)
                self.session(conn.makefile('rwb'))

    def session(self, f):
        def reply(text):
            f.write(text.encode() + b'\r\n')
            f.flush()
        reply('220 sink ESMTP')
        rcpt = []
        for raw in f:
            line = raw.decode(errors='replace').rstrip('\r\n')
            verb = line.split(' ', 1)[0].upper()
            if verb in ('EHLO', 'HELO'):
                reply('250 sink')
            elif verb == 'MAIL':
                rcpt = []
                reply('250 ok')
            elif verb == 'RCPT':
                rcpt.append(line.split(':', 1)[1].strip())
                reply('250 ok')
            elif verb == 'DATA':
                reply('354 go on')
                data = []
                for d in f:
                    if d in (b'.\r\n', b'.\n'):
                        break
                    data.append(d.decode(errors='replace'))
                self.messages.append((rcpt, ''.join(data)))
                reply('250 queued')
            elif verb == 'QUIT':
                reply('221 bye')
                return
            else:
                reply('250 ok')


def _children(pid):
    """pid and its descendants."""
    out = [pid]
    for d in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[1]) in out:
                out.append(int(d.split('/')[2]))
        except (OSError, IndexError, ValueError):
            pass
    return out


class UnknownUserTest(unittest.TestCase):
    """A destination whose userdb knows only its passwd-file users (the rig's default adds a
    static userdb that accepts anyone)."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-batch-strict', dst_remote_passdb=False, dst_any_user=False)
        cls.rig.__enter__()
        cls.rig.add_source_user('kim', 'Kim-Pw-1')
        cls.rig.load_source('kim', corpus.simple_corpus(2, tag='kim'))
        cls.rig.add_dest_user('kim')

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def test_unknown_target_user_runs_nothing(self):
        path = os.path.join(self.rig.dir, 'unknown.txt')
        with open(path, 'w') as f:
            f.write('kim Kim-Pw-1\nnobody-here Whatever-1\n')
        os.chmod(path, 0o600)
        argv = self.rig.doveadm_argv('migrate', 'batch', '-H', '127.0.0.1', '-P',
                                     str(self.rig.src_imap_port), '-T', 'none', path)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, EX_NOUSER, r.stdout + r.stderr)
        self.assertIn('line 2: user nobody-here not found in userdb', r.stderr)
        self.assertIn('nothing was run', r.stderr)
        self.assertEqual(self.rig.messages('dst', 'kim'), [])


    def test_check_reports_an_unknown_user_and_checks_the_others(self):
        users = os.path.join(self.rig.dir, 'users')
        with open(users, 'w') as f:
            f.write('nobody-here\nkim\n')
        pw = self.rig.password_file('Kim-Pw-1')
        rdir = os.path.join(self.rig.dir, 'check-report')
        argv = self.rig.doveadm_argv('migrate', 'check', '-F', users, '-H', '127.0.0.1', '-P',
                                     str(self.rig.src_imap_port), '-T', 'none', '-w', pw,
                                     '-r', rdir)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, EX_NOUSER, r.stdout + r.stderr)
        self.assertIn('nobody-here: failed: user not found in userdb', r.stdout)
        self.assertIn('kim: ok, 2 messages in 1 folder, 2 to copy', r.stdout)
        with open(os.path.join(rdir, 'report.json')) as f:
            boxes = {m['user']: m for m in json.load(f)['mailboxes']}
        self.assertEqual(boxes['nobody-here']['exit_code'], EX_NOUSER)
        self.assertEqual(boxes['kim']['result'], 'ok')


if __name__ == '__main__':
    unittest.main()
