"""What an admin sees when something is wrong, and TLS: imaps/STARTTLS with the rig's CA, a
self-signed source without --ca-file, --insecure; wrong password, refused connection, unknown
host, the source being this very server, usage errors; and that the source password never
shows up in output, logs, state files or the command line."""

import os
import subprocess
import time
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_CONFIG, EX_NOPERM, EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE, MigrateRun, Rig,
    corpus, expected_messages, migrate, migrate_argv, proc_cmdline, project, src_snapshot,
    state_files, wait_for_exec)

from rig import free_ports  # noqa: E402

SRC_USER = 'erin'
SRC_PW = 'erin-src-pw'
SECRET = 'Zebra-Quartz-8413-secret'   # a source password distinctive enough to grep for
# Destination users, all added up front (each passwd-file change takes ~1 s to be seen).
DEST_USERS = ('tls-imaps', 'tls-noca', 'tls-starttls', 'tls-starttls-noca', 'tls-insecure',
              'tls-wrongport', 'plain-warn', 'wrongpw', 'refused', 'nodns', 'usage', 'sam')


class ErrorsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-errors')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(3, folders=(('INBOX',), ('Work',)), tag='err')
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        cls.rig.add_source_user('sam', SECRET)
        cls.rig.load_source('sam', cls.corpus)
        for u in DEST_USERS:
            cls.rig.add_dest_user(u)
        cls.rig.add_dest_user('selfie', password='selfie-pw')
        cls.rig.add_dest_user('sam2', extra={'migrate_source_password': SECRET})
        cls.src0 = src_snapshot(cls.rig, SRC_USER)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    # ------------------------------------------------------------------ helpers

    def new_user(self, name):
        assert name in self.rig.dst_users, name
        return name

    def run_as(self, user, *extra, **kw):
        kw.setdefault('password', SRC_PW)
        kw.setdefault('source_user', SRC_USER)
        return migrate(self.rig, user, *extra, **kw)

    def assert_ok(self, run, user):
        self.assertEqual(run.rc, 0, run.describe() + self.rig.logs_tail())
        self.assertEqual(run.row['result'], 'ok')
        self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                         expected_messages(self.rig, self.corpus))

    def assert_failed(self, run, user, rc, *words):
        """Exit code rc, a 'failed' row whose error holds every word, the same one-line error
        on stderr, and nothing copied."""
        self.assertEqual(run.rc, rc, run.describe())
        row = run.row
        self.assertEqual(row['result'], 'failed', run.describe())
        self.assertEqual(int(row['copied']), 0)
        errors = [l for l in run.err.splitlines() if ': Error: ' in l]
        self.assertEqual(len(errors), 1, 'expected one error line:\n' + run.err)
        for w in words:
            self.assertIn(w.lower(), row['error'].lower(), run.describe())
            self.assertIn(w.lower(), errors[0].lower(), run.describe())
        # cause + hint: "<cause> (<hint>)"
        self.assertRegex(row['error'], r'\S.*\(.+\)$', 'no hint: ' + row['error'])
        self.assertEqual(self.rig.messages('dst', user), [])
        return row['error']

    # ------------------------------------------------------------------ TLS

    def test_imaps_with_ca_file(self):
        u = self.new_user('tls-imaps')
        run = self.run_as(u, tls='imaps')
        self.assert_ok(run, u)
        self.assertNotIn('without encryption', run.err)

    def test_imaps_without_ca_file_is_refused(self):
        u = self.new_user('tls-noca')
        run = self.run_as(u, tls='imaps', ca_file=None)
        err = self.assert_failed(run, u, EX_UNAVAILABLE, 'self-signed', '--ca-file')
        self.assertIn(str(self.rig.src_imaps_port), err)

    def test_starttls_with_ca_file(self):
        u = self.new_user('tls-starttls')
        run = self.run_as(u, tls='starttls')
        self.assert_ok(run, u)

    def test_starttls_without_ca_file_is_refused(self):
        u = self.new_user('tls-starttls-noca')
        run = self.run_as(u, tls='starttls', ca_file=None)
        self.assert_failed(run, u, EX_UNAVAILABLE, 'self-signed', '--ca-file')

    def test_insecure_works_and_warns(self):
        u = self.new_user('tls-insecure')
        run = self.run_as(u, '--insecure', tls='imaps', ca_file=None)
        self.assert_ok(run, u)
        warnings = [l for l in run.err.splitlines() if ': Warning: ' in l]
        self.assertTrue(any('verification is off' in l and '--insecure' in l for l in warnings),
                        run.err)

    def test_imaps_on_the_plain_port(self):
        u = self.new_user('tls-wrongport')
        run = self.run_as(u, tls='imaps', port=self.rig.src_imap_port)
        self.assert_failed(run, u, EX_UNAVAILABLE, 'not TLS', 'starttls')

    def test_plaintext_warns(self):
        u = self.new_user('plain-warn')
        run = self.run_as(u, tls='none')
        self.assert_ok(run, u)
        self.assertIn('without encryption', run.err)

    # ------------------------------------------------------------------ other failures

    def test_wrong_password(self):
        u = self.new_user('wrongpw')
        bad = 'Wr0ng-Pass-QX81'
        run = self.run_as(u, password=bad, verbose=True)
        self.assert_failed(run, u, EX_NOPERM, "'%s'" % SRC_USER, 'password')
        self.assertNotIn(bad, run.text)
        self.assertNotIn(bad, self.rig.dst.log_text())

    def test_connection_refused(self):
        u = self.new_user('refused')
        port = free_ports(1)[0]   # nothing listens there
        run = self.run_as(u, port=port)
        self.assert_failed(run, u, EX_TEMPFAIL, 'refused', '127.0.0.1:%d' % port)

    def test_unknown_host(self):
        u = self.new_user('nodns')
        run = self.run_as(u, host='nonexistent.invalid', port=143)
        self.assert_failed(run, u, EX_TEMPFAIL, 'cannot resolve', 'nonexistent.invalid')

    def test_source_is_this_server(self):
        """Migrating a user from the destination's own IMAP service (e.g. after the DNS switch
        the old name points here) is refused, and the user's mail is left alone."""
        r = self.rig
        u = self.new_user('selfie')
        for i, m in enumerate(corpus.simple_messages(3, 'self')):
            r.doveadm('save', '-u', u, input=m.data, text=False, check=True)
        before = r.messages('dst', u)
        self.assertEqual(len(before), 3)
        run = migrate(r, u, password='selfie-pw', source_user=u, port=r.dst_imap_port)
        self.assertEqual(run.rc, EX_CONFIG, run.describe())
        self.assertEqual(run.row['result'], 'failed')
        self.assertIn('is this server', run.row['error'])
        self.assertIn('is this server', run.err)
        self.assertIn('--source-host', run.row['error'])   # the hint
        self.assertEqual(r.messages('dst', u), before)

    def test_usage_errors(self):
        u = self.new_user('usage')
        run = self.run_as(u, tls='bogus')
        self.assertEqual(run.rc, EX_USAGE, run.describe())
        self.assertIn("unknown TLS mode 'bogus'", run.err)
        self.assertIn('starttls', run.err)
        run = self.run_as(u, password=None, password_file='/nonexistent/pw-file')
        self.assertEqual(run.rc, EX_USAGE, run.describe())
        self.assertIn('/nonexistent/pw-file', run.err)
        self.assertIn('no such file', run.err)
        run = self.run_as(u, password=None)   # no password anywhere
        self.assertEqual(run.rc, EX_CONFIG, run.describe())
        self.assertIn('no source password for usage', run.err)
        self.assertEqual(self.rig.messages('dst', u), [])

    # ------------------------------------------------------------------ secrets

    def test_password_never_shown(self):
        r = self.rig
        secret = SECRET
        u = self.new_user('sam')
        pwfile = r.password_file(secret)
        argv = migrate_argv(r, u, password_file=pwfile, tls='starttls', verbose=True)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.assertTrue(wait_for_exec(p.pid))
        # The running doveadm's command line, as ps shows it. doveadm re-executes itself through
        # doveconf once, and /proc/PID/cmdline reads empty in that instant: read until it shows.
        cmdline = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            cmdline = proc_cmdline(p.pid)
            if any(pwfile.encode() in a for a in cmdline):
                break
            time.sleep(0.002)
        out, err = p.communicate(timeout=120)
        run = MigrateRun(argv, p.returncode, out, err, 0, 'tab')
        self.assertEqual(run.rc, 0, run.describe())
        self.assertGreater(len(err.splitlines()), 2, 'expected verbose output:\n' + err)
        self.assertIn(pwfile.encode(), cmdline)
        self.assertFalse([a for a in cmdline if secret.encode() in a], cmdline)
        self.assertNotIn(secret, out)
        self.assertNotIn(secret, err)
        self.assertNotIn(secret, r.dst.log_text())
        self.assertNotIn(secret, r.src.log_text())
        files = state_files(r, u)
        self.assertTrue(files, 'no dovecot-migrate.* state files')
        for path in files:
            with open(path, 'rb') as f:
                self.assertNotIn(secret.encode(), f.read(), path)

        # the same with the password from the userdb, through the dest's doveadm
        u2 = self.new_user('sam2')
        run = migrate(r, u2, password=None, source_user='sam', tls='starttls', verbose=True)
        self.assertEqual(run.rc, 0, run.describe())
        self.assertNotIn(secret, run.text)
        self.assertNotIn(secret, r.dst.log_text())
        for path in state_files(r, u2):
            with open(path, 'rb') as f:
                self.assertNotIn(secret.encode(), f.read(), path)

    def test_zz_source_untouched(self):
        self.assertEqual(src_snapshot(self.rig, SRC_USER), self.src0)


if __name__ == '__main__':
    unittest.main()
