"""Migration on first login (issue 5): the migrate mail plugin against real Dovecot.

The transparent recipe of docs/first-login.md: the destination authenticates users who are not
local against the old server (passdb imap), hands the login password over
(override_fields = userdb_migrate_source_password=%w), and the plugin starts
`doveadm migrate -u USER -W` in the background on the first IMAP login. Checked as an admin would:
the mail in the folders, dovecot-migrate.status and .login.log, the Dovecot log, and where the
password shows up (nowhere: no argv, log or file).
"""

import fcntl
import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    LOCALHOST, Rig, corpus, duplicates, expected_messages, parse_tab, project, read_status,
    secret_leaks, state_files, wait_for)
from rig import settings_conf  # noqa: E402

MAX_FAILURES = 2
# Debian's dovecot-lmtpd; without it the LMTP checks are replaced by `doveadm save`.
HAVE_LMTP = os.path.exists('/usr/lib/dovecot/lmtp')
RUN_TIMEOUT = 180   # generous: a throttled run takes a few seconds


def run_active(rig, user):
    """True while a background run holds dovecot-migrate.login.lock (it keeps it until it
    exits)."""
    path = rig.state_path(user, 'login.lock')
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def wait_run_finished(rig, user, timeout=RUN_TIMEOUT):
    """Waits until the background run has exited; returns its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rig.check_background_run(user)
        if not run_active(rig, user):
            status = read_status(rig, user)
            if status is not None and status.get('state') != 'running':
                return status
        time.sleep(0.1)
    raise AssertionError('the background migration of %s did not finish within %ss\nstatus: %r\n'
                         'login.log:\n%s\n%s' % (user, timeout, read_status(rig, user),
                                                 rig.login_log(user), rig.logs_tail()))


def starts(rig, user):
    """How often the plugin logged that it started a migration of `user`."""
    return len(re.findall(r'migrate: .*started the migration of %s from' % re.escape(user),
                          rig.dst.log_text()))


def login_and_out(rig, user, password):
    with rig.imap_login(rig.dst_imap_port, user, password) as c:
        typ, data = c.select('INBOX')
        assert typ == 'OK', data
        c.logout()


class ArgvWatcher:
    """Reads every process's command line (as ps shows it) in a loop until stopped."""

    def __init__(self):
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False

    def _run(self):
        me = str(os.getpid())
        while not self._stop.is_set():
            for pid in os.listdir('/proc'):
                if not pid.isdigit() or pid == me:
                    continue
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as f:
                        cmd = f.read()
                except OSError:
                    continue
                if cmd:
                    self.seen.add(cmd)
            time.sleep(0.005)


def deliver(rig, user, subject):
    """Delivers one message to `user` through the destination's LMTP socket (mail that arrives
    at the new server after the MX switch), or with `doveadm save` when Dovecot's LMTP server is
    not installed. Returns the message's Message-ID."""
    msgid = '<%s@first-login.test>' % os.urandom(6).hex()
    data = ('From: sender@example.org\r\nTo: %s@example.org\r\nSubject: %s\r\n'
            'Message-ID: %s\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n\r\n'
            'delivered to the new server\r\n' % (user, subject, msgid))
    if HAVE_LMTP:
        with smtplib.LMTP(os.path.join(rig.dst.run_dir, 'lmtp')) as s:
            s.sendmail('sender@example.org', [user], data.encode())
    else:
        rig.doveadm('save', '-u', user, '-m', 'INBOX', input=data.encode(), text=False,
                    check=True)
    return msgid


class FirstLoginTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        # The plugin in every service's mail_plugins (imap, lmtp, doveadm): only the service
        # check keeps lmtp and doveadm from starting migrations.
        cls.rig = Rig(name='first-login', dst_mail_plugins='migrate',
                      dst_passdb_override_fields='userdb_migrate_source_password=%w',
                      dst_protocols=('pop3', 'lmtp') if HAVE_LMTP else ('pop3',))
        cls.rig.__enter__()
        try:
            cls.pop3_port = cls.rig.dst_pop3_port
            # A master user at the destination (an admin looking into a mailbox).
            master = os.path.join(cls.rig.dir, 'dst-master-users')
            with open(master, 'w') as f:
                f.write('helpdesk:{PLAIN}Helpdesk-Pw-3319\n')
            os.chmod(master, 0o644)
            cls.rig.set_dest_extra_conf(
                'auth_master_user_separator = *\n' +
                Rig.passwd_file_conf('master-users', master, 'passdb', master=True,
                                     fields='userdb_migrate_source_password=%w') +
                settings_conf({'migrate_on_login': 'yes',
                               'migrate_on_login_max_failures': MAX_FAILURES,
                               'migrate_source_host': '127.0.0.1',
                               'migrate_source_port': cls.rig.src_imap_port,
                               'migrate_source_tls': 'none'}))
        except BaseException:
            cls.rig.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rig = cls.rig
        # No background run may outlive the test (they are detached from Dovecot's master).
        for user in os.listdir(rig.dst.mail_dir):
            deadline = time.monotonic() + RUN_TIMEOUT
            while run_active(rig, user) and time.monotonic() < deadline:
                time.sleep(0.1)
        rig.close()

    def assertNoRunStarted(self, user):
        self.assertEqual(state_files(self.rig, user), [], 'a migration was started for %s' % user)
        self.assertEqual(starts(self.rig, user), 0, self.rig.logs_tail())

    def test_first_login_migrates_everything_once(self):
        rig = self.rig
        user, password = 'alice', 'alice-old-pw'
        rig.add_source_user(user, password)
        edge = corpus.edge_corpus('small')
        # A bulk folder and a throttled run (per-user userdb field): the run lasts a few seconds,
        # long enough to watch every command line while it runs.
        bulk = corpus.simple_corpus(1200, folders=(('Bulk',),), tag='fl-bulk', size=2500)
        rig.load_source(user, edge)
        rig.load_source(user, bulk)
        # alice is in the destination's passwd-file for her userdb fields only: her local
        # password is random, so she logs in through passdb imap with the old server's password.
        rig.add_dest_user(user, extra={'migrate_max_rate': '1M'})

        # Mail that reached the new server before her first login; LMTP and doveadm (both with
        # the plugin loaded) must not start a migration.
        msgid = deliver(rig, user, 'arrived at the new server')
        rig.doveadm('mailbox', 'list', '-u', user, check=True)
        time.sleep(0.5)
        self.assertNoRunStarted(user)
        local = [m for m in rig.messages('dst', user) if m['message_id'] == msgid]
        self.assertEqual(len(local), 1)

        with ArgvWatcher() as watcher:
            login_and_out(rig, user, password)
            self.assertTrue(run_active(rig, user) or read_status(rig, user) is not None,
                            'no migration started after the first login:\n' + rig.logs_tail())
            status = wait_run_finished(rig, user)
        self.assertEqual(status['state'], 'ok', '%r\n%s' % (status, rig.login_log(user)))
        self.assertEqual(status['trigger'], 'login')
        self.assertEqual(status['consecutive_failures'], '0')
        self.assertEqual(starts(rig, user), 1, rig.logs_tail())

        expected = expected_messages(rig, edge) + expected_messages(rig, bulk)
        expected += project(local)
        have = rig.messages('dst', user)
        self.assertEqual(project(have), sorted(expected))
        self.assertEqual(duplicates(have, expected), {})
        self.assertEqual(int(status['copied']), len(expected) - 1)
        inbox = [e for e in expected if e[0] == 'INBOX']
        self.assertEqual(len([m for m in have if m['mailbox'] == 'INBOX']), len(inbox))

        # The background run was seen, and the password is on no command line, in no log and
        # in no dovecot-migrate.* file (status, login.log, state).
        # Only this rig's processes: other integration tests (run in parallel by ctest) also
        # migrate an 'alice', with their own configs.
        runs = [c for c in watcher.seen
                if b'migrate\0-u\0alice\0' in c and rig.dst.conf.encode() in c]
        self.assertTrue(runs, 'the background doveadm migrate was never seen running')
        self.assertTrue(all(c.endswith(b'-W\0') for c in runs), runs)
        self.assertEqual(secret_leaks(rig, password, user,
                                      cmdline=[a for c in watcher.seen for a in c.split(b'\0')]),
                         [])
        self.assertIn('ok', rig.login_log(user))

        # A second login starts nothing: the status says ok, the mail is as it was.
        before = project(rig.messages('dst', user))
        login_and_out(rig, user, password)
        time.sleep(1)
        self.assertFalse(run_active(rig, user))
        self.assertEqual(read_status(rig, user), status)
        self.assertEqual(starts(rig, user), 1)
        self.assertEqual(project(rig.messages('dst', user)), before)

    def test_wrong_source_password_stops_after_max_failures(self):
        rig = self.rig
        user = 'carol'
        rig.add_source_user(user, 'carol-old-pw')
        rig.load_source(user, corpus.simple_corpus(5, tag='carol'))
        # carol logs in locally with a password the old server does not take: every run fails
        # at the source's login.
        local_pw = 'carol-new-local-pw'
        rig.add_dest_user(user, password=local_pw)

        for attempt in range(1, MAX_FAILURES + 1):
            login_and_out(rig, user, local_pw)
            status = wait_run_finished(rig, user)
            self.assertEqual(status['state'], 'failed', rig.login_log(user))
            self.assertEqual(status['consecutive_failures'], str(attempt))
            self.assertRegex(status['error'], '(?i)auth|password|login')
            self.assertEqual(starts(rig, user), attempt)

        # One more login: no new attempt; the reason is logged at this login.
        login_and_out(rig, user, local_pw)
        time.sleep(1)
        self.assertFalse(run_active(rig, user))
        self.assertEqual(read_status(rig, user), status)
        self.assertEqual(starts(rig, user), MAX_FAILURES)
        log = rig.dst.log_when('not starting the migration of carol')
        self.assertRegex(log, r'not starting the migration of carol: it failed %d times in a row'
                         % MAX_FAILURES)
        self.assertIn(status['error'][:40], log)
        # ... and `doveadm migrate status` shows it.
        rows = rig.doveadm_tab('migrate', 'status', '-u', user)
        self.assertEqual(len(rows), 1, rows)
        row = {k.lower(): v for k, v in rows[0].items()}
        self.assertEqual((row['state'], row['trigger'], row['consecutive_failures']),
                         ('failed', 'login', str(MAX_FAILURES)))
        self.assertIn('Authentication failed', row['error'])
        self.assertEqual([m for m in rig.messages('dst', user)], [])
        self.assertEqual(secret_leaks(rig, local_pw, user), [])

    def test_a_killed_run_is_resumed_at_the_next_login(self):
        rig = self.rig
        user, password = 'kate', 'kate-old-pw'
        rig.add_source_user(user, password)
        c = corpus.simple_corpus(400, folders=(('INBOX',), ('Archive',)), tag='kate', size=1500)
        rig.load_source(user, c)
        # Throttled (~6 s) so that it can be killed half-way.
        rig.add_dest_user(user, extra={'migrate_max_rate': '200K'})

        login_and_out(rig, user, password)
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            rig.check_background_run(user)
            status = read_status(rig, user)
            if status and status['state'] == 'running' and int(status['copied'] or 0) > 0:
                break
            time.sleep(0.05)
        self.assertEqual(status and status['state'], 'running', rig.login_log(user))
        os.kill(int(status['pid']), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while run_active(rig, user) and time.monotonic() < deadline:
            time.sleep(0.05)
        partial = len(rig.messages('dst', user, content=False))
        self.assertLess(partial, 800)

        # The status still says "running", but nobody runs it: the next login starts it again.
        self.assertEqual(read_status(rig, user)['state'], 'running')
        login_and_out(rig, user, password)
        status = wait_run_finished(rig, user)
        self.assertEqual(status['state'], 'ok', rig.login_log(user))
        self.assertEqual(starts(rig, user), 2, rig.logs_tail())
        self.assertIn('previous run running: started the migration of kate',
                      rig.dst.log_when('started the migration of kate'))
        have = rig.messages('dst', user)
        expected = expected_messages(rig, c)
        self.assertEqual(project(have), expected)
        self.assertEqual(duplicates(have, expected), {})

    def test_a_paused_run_waits_for_resume_not_for_a_login(self):
        rig = self.rig
        user, password = 'paula', 'paula-old-pw'
        rig.add_source_user(user, password)
        c = corpus.simple_corpus(400, folders=(('INBOX',), ('Archive',)), tag='paula', size=1500)
        rig.load_source(user, c)
        rig.add_dest_user(user, extra={'migrate_max_rate': '200K'})
        login_and_out(rig, user, password)
        self.assertTrue(wait_for(lambda: (read_status(rig, user) or {}).get('state') == 'running'
                                 and int(read_status(rig, user)['copied'] or 0) > 0, timeout=60),
                        rig.login_log(user))
        r = rig.doveadm('-f', 'tab', 'migrate', 'pause', '-u', user)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual({k.lower(): v for k, v in parse_tab(r.stdout)[0].items()}['result'], 'paused',
                         r.stdout)
        self.assertEqual(read_status(rig, user)['state'], 'paused')
        # A login while paused starts nothing.
        login_and_out(rig, user, password)
        time.sleep(1)
        self.assertEqual(starts(rig, user), 1, rig.logs_tail())
        self.assertEqual(read_status(rig, user)['state'], 'paused')
        # resume: a login run has no stored password; the next login continues it.
        r = rig.doveadm('-f', 'tab', 'migrate', 'resume', '-u', user)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = {k.lower(): v for k, v in parse_tab(r.stdout)[0].items()}
        self.assertEqual(row['result'], 'resumed', r.stdout)
        self.assertIn("next login", row['message'])
        login_and_out(rig, user, password)
        status = wait_run_finished(rig, user)
        self.assertEqual(status['state'], 'ok', rig.login_log(user))
        self.assertEqual(starts(rig, user), 2, rig.logs_tail())
        have = rig.messages('dst', user)
        expected = expected_messages(rig, c)
        self.assertEqual(project(have), expected)
        self.assertEqual(duplicates(have, expected), {})

    def test_simultaneous_logins_start_one_run(self):
        rig = self.rig
        user, password = 'dave', 'dave-old-pw'
        rig.add_source_user(user, password)
        c = corpus.simple_corpus(300, folders=(('INBOX',), ('Work',)), tag='dave', size=1500)
        rig.load_source(user, c)
        rig.src.wait_users_visible()
        rig.dst.wait_users_visible()

        # Every client connects first, then all send LOGIN at the same moment.
        n = 8
        barrier = threading.Barrier(n)
        errors = []

        def one():
            try:
                c = imaplib.IMAP4(LOCALHOST, rig.dst_imap_port, timeout=30)
                try:
                    barrier.wait(timeout=30)
                    c.login(user, password)
                    c.select('INBOX')
                finally:
                    c.logout()
            except Exception as e:   # reported below
                errors.append(e)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        status = wait_run_finished(rig, user)
        self.assertEqual(status['state'], 'ok', rig.login_log(user))
        self.assertEqual(starts(rig, user), 1, rig.logs_tail())
        have = rig.messages('dst', user)
        expected = expected_messages(rig, c)
        self.assertEqual(project(have), expected)
        self.assertEqual(duplicates(have, expected), {})

    def pop3_login(self, user, password):
        self.rig.dst.wait_users_visible()
        p = poplib.POP3(LOCALHOST, self.pop3_port, timeout=30)
        try:
            p.user(user)
            p.pass_(password)
            p.stat()
        finally:
            p.quit()

    def test_pop3_login_starts_it_unless_left_out_of_the_protocols(self):
        rig = self.rig
        c = corpus.simple_corpus(20, tag='pop')
        for user in ('frank', 'gina'):
            rig.add_source_user(user, user + '-old-pw')
            rig.load_source(user, c)
        # gina: her userdb fields (the passwd-file; she still logs in through passdb imap)
        # allow only IMAP logins to start it.
        rig.add_dest_user('gina', extra={'migrate_on_login_protocols': 'imap'})

        self.pop3_login('frank', 'frank-old-pw')
        status = wait_run_finished(rig, 'frank')
        self.assertEqual(status['state'], 'ok', rig.login_log('frank'))
        self.assertEqual(project(rig.messages('dst', 'frank')), expected_messages(rig, c))

        self.pop3_login('gina', 'gina-old-pw')
        time.sleep(0.5)
        self.assertNoRunStarted('gina')
        login_and_out(rig, 'gina', 'gina-old-pw')
        status = wait_run_finished(rig, 'gina')
        self.assertEqual(status['state'], 'ok', rig.login_log('gina'))
        self.assertEqual(project(rig.messages('dst', 'gina')), expected_messages(rig, c))

    def test_master_user_login_does_not_start_it(self):
        # helpdesk logs in as ivy with the destination's master password: that is not ivy's
        # password at the old server, so it must not be handed over (nor fail her attempts).
        rig = self.rig
        rig.add_source_user('ivy', 'ivy-old-pw')
        c = corpus.simple_corpus(4, tag='ivy')
        rig.load_source('ivy', c)
        login_and_out(rig, 'ivy*helpdesk', 'Helpdesk-Pw-3319')
        time.sleep(0.5)
        self.assertEqual(starts(rig, 'ivy'), 0)
        self.assertFalse(run_active(rig, 'ivy'))
        self.assertIsNone(read_status(rig, 'ivy'))
        self.assertIn('not starting the migration of ivy at this login: helpdesk logged in as '
                      'master user', rig.dst.log_when('not starting the migration of ivy'))
        login_and_out(rig, 'ivy', 'ivy-old-pw')
        status = wait_run_finished(rig, 'ivy')
        self.assertEqual(status['state'], 'ok', rig.login_log('ivy'))
        self.assertEqual(project(rig.messages('dst', 'ivy')), expected_messages(rig, c))
        self.assertEqual(secret_leaks(rig, 'Helpdesk-Pw-3319', 'ivy'), [])

    def test_lmtp_and_doveadm_do_not_start_it(self):
        if not HAVE_LMTP:
            sys.stderr.write('(no /usr/lib/dovecot/lmtp: install dovecot-lmtpd to test LMTP; '
                             'doveadm save is used instead)\n')
        rig = self.rig
        user = 'erin'
        rig.add_source_user(user, 'erin-old-pw')
        rig.load_source(user, corpus.simple_corpus(3, tag='erin'))
        delivered = [deliver(rig, user, 'one'), deliver(rig, user, 'two')]
        rig.doveadm('fetch', '-u', user, 'mailbox', 'mailbox', '*', 'all', check=True)
        rig.doveadm('mailbox', 'status', '-u', user, 'messages', 'INBOX', check=True)
        time.sleep(0.5)
        self.assertNoRunStarted(user)
        # Only the two deliveries, in INBOX: nothing came from the source.
        self.assertEqual(sorted((m['mailbox'], m['message_id']) for m in rig.messages('dst', user)),
                         sorted(('INBOX', msgid) for msgid in delivered))


class MasterUserTest(unittest.TestCase):
    """The other way to hand over credentials: a master user at the old server, configured on
    the new one. The login's own password plays no part and is not passed to the run."""

    def test_master_user_from_the_config(self):
        d = tempfile.mkdtemp(prefix='first-login-master-')
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        master = os.path.join(d, 'master-users')
        with open(master, 'w') as f:
            f.write('migadmin:{PLAIN}Master-Pw-7731\n')
        os.chmod(master, 0o644)
        src_conf = Rig.passwd_file_conf('master-users', master, 'passdb', master=True)
        c = corpus.simple_corpus(10, folders=(('INBOX',), ('Work',)), tag='fl-master')
        # No %w handover here: the destination knows its users and their new passwords.
        with Rig(name='first-login-master', src_extra_conf=src_conf,
                 dst_mail_plugins='migrate', dst_remote_passdb=False) as rig:
            rig.set_dest_extra_conf(settings_conf({
                'migrate_on_login': 'yes', 'migrate_source_host': '127.0.0.1',
                'migrate_source_port': rig.src_imap_port, 'migrate_source_tls': 'none',
                'migrate_source_master_user': 'migadmin',
                'migrate_source_password': 'Master-Pw-7731',
                'migrate_max_rate': '4K'}))   # a run of ~3 s to watch
            rig.add_source_user('hank', 'hank-own-old-pw')
            rig.load_source('hank', c)
            rig.add_dest_user('hank', password='hank-new-pw')
            with ArgvWatcher() as watcher:
                login_and_out(rig, 'hank', 'hank-new-pw')
                status = wait_run_finished(rig, 'hank')
            self.assertEqual(status['state'], 'ok', rig.login_log('hank'))
            self.assertEqual(status['trigger'], 'login')
            self.assertEqual(project(rig.messages('dst', 'hank')), expected_messages(rig, c))
            runs = [a for a in watcher.seen
                    if b'migrate\0-u\0hank\0' in a and rig.dst.conf.encode() in a]
            self.assertTrue(runs, 'the background doveadm migrate was never seen running')
            self.assertFalse([a for a in runs if b'-W' in a.split(b'\0')], runs)
            seen_args = [a for cmd in watcher.seen for a in cmd.split(b'\0')]
            self.assertEqual(secret_leaks(rig, 'hank-new-pw', 'hank', cmdline=seen_args), [])
            self.assertEqual(secret_leaks(rig, 'Master-Pw-7731', 'hank', cmdline=seen_args), [])


if __name__ == '__main__':
    unittest.main()
