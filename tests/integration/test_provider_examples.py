"""The providers' published example lines (tests/fixtures/providers/, verbatim from their help
pages) migrated end to end by `doveadm migrate batch` against the rig's real Dovecot servers.
The example host names (imap.example.com, server-IMAP-remoto, ...) resolve to the rig's source,
which listens there on the standard ports 143 and 993, so each line runs exactly as written:
vshosting's `993,true` is implicit TLS, verified against the rig's CA (and refused without it)."""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import CONTENT_KEYS, Rig, corpus, expected_messages, project  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'providers')
NAMES = ('imap.example.com', 'server-IMAP-remoto', 'imap.domena.tld')
# Source logins as the example lines give them (the rig's passdb drops the domain: %n) and the
# passwords the lines carry.
SOURCE = {'schranka': 'heslo', 'mailbox': 'password', 'user': 'password123',
          'utente-remoto': 'password-remota'}
# Destination user of each line (also %n).
DEST = ('schranka@domena.tld', 'mailbox@domain.tld', 'user@example.com', 'utente-locale@dominio')


class ProviderExamplesTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-providers', src_names=NAMES)
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(3, folders=(('INBOX',), ('Sent',)), tag='prov')
        for user, pw in SOURCE.items():
            cls.rig.add_source_user(user, pw)
            cls.rig.load_source(user, cls.corpus)
        for user in DEST:
            cls.rig.add_dest_user(user.split('@')[0])

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def batch(self, fixture, *args):
        rdir = os.path.join(self.rig.dir, 'report-' + os.urandom(4).hex())
        argv = self.rig.doveadm_argv('migrate', 'batch', '--report-dir', rdir, *args,
                                     os.path.join(FIXTURES, fixture))
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        with open(os.path.join(rdir, 'report.json')) as f:
            return r, json.load(f)

    def assert_ran(self, r, report, users):
        self.assertEqual(r.returncode, 0, 'rc %s\n%s\n%s' % (r.returncode, r.stdout, r.stderr))
        self.assertEqual(sorted(m['user'] for m in report['mailboxes']), sorted(users))
        for m in report['mailboxes']:
            self.assertEqual(m['result'], 'ok', m)
        for user in users:
            self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                             expected_messages(self.rig, self.corpus), user)

    def forget(self, user):
        """Start the user over: the mailbox and the migration state go (a fresh destination)."""
        shutil.rmtree(self.rig.dst_home(user.split('@')[0]), ignore_errors=True)

    def test_wedos_login_password_lines(self):
        r, report = self.batch('wedos-pairs.txt', '-H', 'imap.domena.tld',
                               '--ca-file', self.rig.ca_file)
        self.assert_ran(r, report, ('schranka@domena.tld', 'mailbox@domain.tld'))

    def test_vshosting_csv_with_and_without_its_header(self):
        for fixture in ('vshosting-with-header.csv', 'vshosting-example-line.csv'):
            with self.subTest(fixture):
                self.forget('user@example.com')
                r, report = self.batch(fixture, '--ca-file', self.rig.ca_file)
                self.assert_ran(r, report, ('user@example.com',))
                self.assertIn('ignored', r.stdout + r.stderr)   # target_password, with a note

    def test_vshosting_true_is_verified_tls(self):
        # Without the rig's CA the self-signed certificate must be refused: "true" is TLS,
        # verified as always, not plaintext and not TLS without verification.
        self.forget('user@example.com')
        r, report = self.batch('vshosting-example-line.csv')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        (m,) = report['mailboxes']
        self.assertEqual(m['result'], 'failed', m)
        self.assertIn('certificate', json.dumps(m).lower())
        self.assertEqual(self.rig.messages('dst', 'user@example.com'), [])

    def test_qboxmail_semicolon_line(self):
        r, report = self.batch('qboxmail.csv', '--ca-file', self.rig.ca_file)
        self.assert_ran(r, report, ('utente-locale@dominio',))


if __name__ == '__main__':
    unittest.main()
