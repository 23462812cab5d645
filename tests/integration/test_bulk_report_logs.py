"""The per-mailbox logs of `doveadm migrate batch/check -r DIR`: each <user>.log starts with the
child's command line, which carries doveadm's own -o settings. A setting that holds a password (an
admin's `doveadm -o plugin/migrate_source_password=...`) must not be written into those logs, and
every mailbox keeps a log of its own (a user listed twice in a `check -F` file). The batch runs as
root: it writes nothing into a report directory that another user could have filled with
symlinks."""

import glob
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import EX_CANTCREAT, Rig, corpus  # noqa: E402

SOURCE_PW = 'Lena-Src-Pw-5150'
OVERRIDE_SECRET = 'Override-Secret-8642'


class BulkReportLogsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-batch-secrets')
        cls.rig.__enter__()
        cls.rig.add_source_user('lena', SOURCE_PW)
        cls.rig.load_source('lena', corpus.simple_corpus(2, folders=(('INBOX',),), tag='secrets'))
        cls.rig.add_dest_user('lena')

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def test_a_password_setting_given_with_o_is_hidden_in_the_user_logs(self):
        path = os.path.join(self.rig.dir, 'secrets.txt')
        with open(path, 'w') as f:
            f.write('lena %s\n' % SOURCE_PW)
        os.chmod(path, 0o600)
        rdir = os.path.join(self.rig.dir, 'secrets-report')
        argv = self.rig.doveadm_argv(
            '-o', 'mail_fsync=never', '-o', 'plugin/migrate_source_password=' + OVERRIDE_SECRET,
            'migrate', 'batch', '-H', '127.0.0.1', '-P', str(self.rig.src_imap_port), '-T', 'none',
            '-r', rdir, path)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, 'rc %s\n%s\n%s' % (r.returncode, r.stdout, r.stderr))
        with open(os.path.join(rdir, 'lena.log')) as f:
            head = f.readline()
        # The log still shows the settings, so the admin can rerun the child by hand.
        self.assertIn(' -o mail_fsync=never ', head)
        self.assertIn(' -o plugin/migrate_source_password=<hidden> ', head)
        for p in glob.glob(os.path.join(rdir, '*')):
            with open(p, errors='surrogateescape') as f:
                text = f.read()
            self.assertNotIn(OVERRIDE_SECRET, text, p)
            self.assertNotIn(SOURCE_PW, text, p)

    def test_a_user_listed_twice_for_check_gets_two_logs(self):
        users = os.path.join(self.rig.dir, 'users.txt')
        with open(users, 'w') as f:
            f.write('lena\nlena\n')
        pwfile = os.path.join(self.rig.dir, 'lena.pw')
        with open(pwfile, 'w') as f:
            f.write(SOURCE_PW + '\n')
        os.chmod(pwfile, 0o600)
        rdir = os.path.join(self.rig.dir, 'check-twice-report')
        argv = self.rig.doveadm_argv(
            'migrate', 'check', '-F', users, '-H', '127.0.0.1', '-P', str(self.rig.src_imap_port),
            '-T', 'none', '-w', pwfile, '-r', rdir)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, 'rc %s\n%s\n%s' % (r.returncode, r.stdout, r.stderr))
        with open(os.path.join(rdir, 'report.json')) as f:
            report = json.load(f)
        logs = [m['log'] for m in report['mailboxes']]
        self.assertEqual(len(logs), 2, report)
        self.assertNotEqual(logs[0], logs[1])
        for log in logs:
            with open(log) as f:
                text = f.read()
            # one run per log: its own command line, once
            self.assertEqual(text.count(' migrate -u lena '), 1, log + ':\n' + text)

    def test_a_report_dir_owned_by_another_user_is_refused(self):
        path = os.path.join(self.rig.dir, 'planted.txt')
        with open(path, 'w') as f:
            f.write('lena %s\n' % SOURCE_PW)
        os.chmod(path, 0o600)
        victim = os.path.join(self.rig.dir, 'victim.conf')
        with open(victim, 'w') as f:
            f.write('precious\n')
        # Another local user pre-created the directory (e.g. under /tmp) with a symlink where
        # the batch will write lena's log.
        rdir = os.path.join(self.rig.dir, 'planted-report')
        os.mkdir(rdir, 0o755)
        os.symlink(victim, os.path.join(rdir, 'lena.log'))
        os.lchown(os.path.join(rdir, 'lena.log'), 65534, 65534)
        os.chown(rdir, 65534, 65534)
        argv = self.rig.doveadm_argv(
            'migrate', 'batch', '-H', '127.0.0.1', '-P', str(self.rig.src_imap_port), '-T', 'none',
            '-r', rdir, path)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        with open(victim) as f:
            self.assertEqual(f.read(), 'precious\n')
        self.assertEqual(r.returncode, EX_CANTCREAT, 'rc %s\n%s\n%s' % (r.returncode, r.stdout,
                                                                          r.stderr))
        self.assertIn('the report directory %s belongs to uid 65534' % rdir, r.stderr)
        self.assertEqual(sorted(os.listdir(rdir)), ['lena.log'])


if __name__ == '__main__':
    unittest.main()
