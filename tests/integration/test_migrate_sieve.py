"""Sieve scripts carried over (issue 13, part 2) between two real Dovecots with Pigeonhole: a
Courier-style source ("INBOX." prefix, '.' separator) with ManageSieve behind STARTTLS, a '/'
destination whose Sieve lacks imap4flags. Every script arrives, its fileinto targets mapped as
the mail was, a script that does not compile here is stored inactive with the compiler's
words, the active one is activated only when it compiles, the customer's own script here is
kept, a second run changes nothing, and a source without ManageSieve is a `skipped` line."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import Rig, migrate  # noqa: E402
from rig import free_ports  # noqa: E402

ROUNDCUBE = ('require ["fileinto"];\r\n'
             '# rule:[work] fileinto "INBOX.Work"\r\n'
             'if header :contains "subject" "INBOX.Work"\r\n'
             '{\r\n'
             '\tfileinto "INBOX.Work";\r\n'
             '}\r\n'
             'elsif header :contains "list-id" "dev.lists.example"\r\n'
             '{\r\n'
             '\tfileinto "INBOX.Lists.dev";\r\n'
             '}\r\n')
ROUNDCUBE_HERE = ROUNDCUBE.replace('\tfileinto "INBOX.Work"', '\tfileinto "Work"').replace(
    '\tfileinto "INBOX.Lists.dev"', '\tfileinto "Lists/dev"')
# Compiles at the source; the destination has imap4flags disabled.
FLAGS = ('require ["fileinto", "imap4flags"];\n'
         'if header :contains "subject" "urgent" {\n'
         '  addflag "\\\\Flagged";\n'
         '  fileinto "INBOX.Work";\n'
         '}\n')
VACATION = ('require ["vacation"];\n'
            'vacation :days 7 :subject "Away" text:\n'
            'I am away; mail for INBOX.Work waits.\n'
            '..\n'
            '.\n'
            ';\n')


class SieveTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-sieve', src_sep='.', src_protocols=('sieve',),
                      sieve={'dst': '-imap4flags'})
        cls.rig.__enter__()
        r = cls.rig
        for user in ('alice', 'bob', 'carol'):
            r.add_source_user(user, user + 'pw')
            r.add_dest_user(user)
        r.wait_users_visible()
        for user in ('alice', 'bob', 'carol'):
            for box in ('INBOX.Work', 'INBOX.Lists', 'INBOX.Lists.dev'):
                r.doveadm('mailbox', 'create', '-u', user, box, conf='src', check=True)
        cls.put('alice', 'roundcube', ROUNDCUBE, active=True)
        cls.put('alice', 'flags', FLAGS)
        cls.put('alice', 'vacation', VACATION)
        cls.put('bob', 'flags', FLAGS, active=True)
        cls.put('bob', 'vacation', VACATION)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    @classmethod
    def put(cls, user, name, text, active=False, side='src'):
        cls.rig.doveadm('sieve', 'put', '-u', user, *(['-a'] if active else []), name,
                        input=text, conf=side, check=True)

    def scripts(self, user):
        out = self.rig.doveadm('sieve', 'list', '-u', user, check=True).stdout
        return dict((line.split(' ')[0], line.endswith(' ACTIVE')) for line in out.splitlines() if line)

    def script(self, user, name):
        """The stored file, byte for byte (`doveadm sieve get` adds a title and loses CRs)."""
        with open(os.path.join(self.rig.dst_home(user), 'sieve', name + '.sieve'), 'rb') as f:
            return f.read().decode()

    def run_migrate(self, user, *extra):
        run = migrate(self.rig, user, '--source-sieve', '127.0.0.1:%d' % self.rig.src_sieve_port,
                      *extra, password=user + 'pw', tls='starttls', verbose=True)
        if run.rc != 0:
            self.fail('migrate failed\n%s\n%s' % (run.describe(), self.rig.logs_tail(40)))
        return run

    def test_scripts_mapped_stored_activated_and_kept_on_rerun(self):
        run = self.run_migrate('alice')
        self.assertEqual(run.row['sieve'], '2 stored, 1 stored inactive', run.describe())
        self.assertEqual(self.scripts('alice'), {'roundcube': True, 'flags': False, 'vacation': False})
        self.assertEqual(self.script('alice', 'roundcube'), ROUNDCUBE_HERE,
                         'only the fileinto targets change; the comment and the header test keep theirs')
        self.assertEqual(self.script('alice', 'vacation'), VACATION)
        self.assertIn('"Work"', self.script('alice', 'flags'))
        # The compiler's own words, for the admin to fix the script here.
        self.assertRegex(run.err, r"Sieve script 'flags': stored inactive \(flags: line 1: .*imap4flags")
        self.assertIn("Sieve: 'roundcube' activated", run.err)

        again = self.run_migrate('alice')
        self.assertEqual(again.row['sieve'], '3 unchanged', again.describe())
        self.assertEqual(self.scripts('alice'), {'roundcube': True, 'flags': False, 'vacation': False})

    def test_active_script_that_does_not_compile_and_the_customers_own_script(self):
        # bob set up his own vacation here already, and it is active: both stay as they are.
        own = 'require ["vacation"];\nvacation :days 1 "Here now";\n'
        self.put('bob', 'vacation', own, active=True, side='dst')
        run = self.run_migrate('bob')
        self.assertEqual(run.row['sieve'], '1 stored, 1 stored inactive', run.describe())
        self.assertEqual(self.scripts('bob'), {'vacation': True, 'vacation-migrated': False, 'flags': False})
        self.assertEqual(self.script('bob', 'vacation'), own)
        self.assertEqual(self.script('bob', 'vacation-migrated'), VACATION)
        self.assertIn("'flags' not activated", run.err)

    def test_dry_run_writes_nothing(self):
        self.put('carol', 'roundcube', ROUNDCUBE, active=True)
        run = self.run_migrate('carol', '--dry-run')
        self.assertEqual(run.row['sieve'], '1 would store', run.describe())
        self.assertEqual(self.scripts('carol'), {})


class NoManageSieveTest(unittest.TestCase):
    """A source without ManageSieve: in auto mode a `skipped` line, the mail still arrives."""

    def test_auto_skips_and_an_explicit_server_fails_loudly(self):
        with Rig(name='mig-nosieve', sieve=True) as rig:
            rig.add_source_user('dave', 'davepw')
            rig.add_dest_user('dave')
            run = migrate(rig, 'dave', password='davepw')
            self.assertEqual(run.rc, 0, run.describe())
            self.assertEqual(run.row['result'], 'ok')
            self.assertRegex(run.row['sieve'], r'^skipped: no ManageSieve at 127\.0\.0\.1:4190 \(no TLS\): ')
            port = free_ports(1)[0]
            run = migrate(rig, 'dave', '--source-sieve', '127.0.0.1:%d' % port, password='davepw')
            self.assertEqual(run.rc, 0, run.describe())
            self.assertRegex(run.row['sieve'], r'^failed: ManageSieve at 127\.0\.0\.1:%d \(no TLS\): ' % port)
            self.assertIn('Sieve failed: ManageSieve at', run.err)
            run = migrate(rig, 'dave', '--source-sieve', 'no', password='davepw')
            self.assertEqual(run.row['sieve'], '', run.describe())


if __name__ == '__main__':
    unittest.main()
