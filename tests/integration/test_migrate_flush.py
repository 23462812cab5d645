"""What a pass makes durable, seen with strace on the doveadm process (Dovecot's default
mail_fsync = optimized, which the migrate command replaces for its run):

- a pass that saves mail makes each message file it wrote durable (on ext4 and XFS: its data
  written out and waited for, then an fsync of its directory commits the journal; elsewhere
  an fsync of the file, see core/common/flush_set.h), then the folder's index files and the
  directories whose entries changed, and records the state only after them; never the whole
  file system (syncfs) — on maildir, sdbox and mdbox;
- a pass with nothing new flushes nothing at all, also on a destination that `doveadm backup -R
  imapc:` filled first (whose messages this tool recognises by content, once);
- a flag change at the source flushes the folder, not its messages."""

import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import MigrateRun, Rig, corpus, migrate_argv  # noqa: E402

from rig import DOVEADM  # noqa: E402

STRACE = '/usr/bin/strace'
CALLS = ('syncfs', 'sync', 'fsync', 'fdatasync', 'sync_file_range')
SRC_USER = 'flushsrc'
SRC_PW = 'flushsrc-pw'
FOLDERS = (('INBOX',), ('Archive', '2021'), ('Projects',))
PER_FOLDER = 30
# "fsync(12</path/to/file>) = 0" (strace -y); "sync() = 0" has no fd;
# "sync_file_range(12</path>, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE|...|SYNC_FILE_RANGE_WAIT_AFTER)".
CALL_RE = re.compile(r'^\d+\s+(%s)\((?:(\d+)<([^>]*)>)?(.*)$' % '|'.join(CALLS))


def traced(rig, user, *extra):
    """doveadm migrate for `user` under strace; returns (MigrateRun, [(call, path)]), where a
    sync_file_range that waits for the data to be written is called 'writeout'."""
    argv = migrate_argv(rig, user, *extra, password=SRC_PW, source_user=SRC_USER)
    with tempfile.NamedTemporaryFile('r', dir=rig.dir, suffix='.strace') as log:
        i = argv.index(DOVEADM)
        argv[i:i] = [STRACE, '-f', '-qq', '-y', '-o', log.name, '-e', 'trace=' + ','.join(CALLS)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        calls = []
        for line in log:
            m = CALL_RE.match(line)
            if m:
                call = m.group(1)
                if call == 'sync_file_range' and 'WAIT_AFTER' in m.group(4):
                    call = 'writeout'
                calls.append((call, m.group(3) or ''))
    return MigrateRun(argv, p.returncode, p.stdout, p.stderr, 0, 'tab'), calls


# The state's temporary file (common/textfile.h: <file>.tmp.<pid>), fsynced before the rename.
STATE_TMP = re.compile(r'\.state\.tmp\.\d+$')

class FlushTestBase:
    """Run against one destination storage (the subclasses' MAIL_LOCATION)."""

    MAIL_LOCATION = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(STRACE):
            raise unittest.SkipTest('no ' + STRACE)
        cls.rig = Rig(name='mig-flush', dst_mail_location=cls.MAIL_LOCATION)
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(PER_FOLDER, folders=FOLDERS, tag='flush', size=3000)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        cls.total = PER_FOLDER * len(FOLDERS)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def check(self, run, copied):
        self.assertEqual(run.rc, 0, run.describe() + self.rig.logs_tail())
        self.assertEqual((run.row['result'], int(run.row['copied'])), ('ok', copied),
                         run.describe())

    def message_files(self, user):
        """Paths of the user's message files in the destination storage."""
        out = []
        for root, _, files in os.walk(self.rig.dst_home(user)):
            for name in files:
                leaf = os.path.basename(root)
                if (leaf in ('cur', 'new') or re.match(r'^[um]\.\d+$', name)) and \
                        not name.startswith('dovecot'):
                    out.append(os.path.join(root, name))
        return out

    def test_a_pass_that_saves_flushes_what_it_wrote_then_nothing(self):
        user = 'saver'
        self.rig.add_dest_user(user)
        run, calls = traced(self.rig, user)
        self.check(run, self.total)
        kinds = [c for c, _ in calls]
        self.assertNotIn('syncfs', kinds, 'the whole file system was flushed')
        self.assertNotIn('sync', kinds)
        files = self.message_files(user)
        self.assertGreaterEqual(len(files), 1)
        durable = {p for c, p in calls if c in ('fsync', 'fdatasync', 'writeout')}
        self.assertEqual([f for f in files if f not in durable], [],
                         'message files never flushed (flushed: %s)' % sorted(durable))
        dirs = {os.path.dirname(f) for f in files}
        synced = [(i, p) for i, (c, p) in enumerate(calls) if c == 'fsync']
        self.assertEqual(dirs - {p for _, p in synced}, set(),
                         'directories of new files not flushed')
        # After the last message file: an fsync of its directory (which, on ext4 and XFS,
        # commits the journal for the files written out before it), then the state (which lets
        # a later run skip these messages).
        last_file = max(i for i, (c, p) in enumerate(calls) if p in files)
        dir_after = [i for i, p in synced if i > last_file and p in dirs]
        state = [i for i, p in synced if STATE_TMP.search(p)]
        self.assertTrue(dir_after and state and state[-1] > dir_after[0], calls)

        again, calls = traced(self.rig, user)
        self.check(again, 0)
        self.assertEqual(calls, [], 'a pass with nothing new flushed something')

    def test_a_flag_change_flushes_the_folder_not_its_messages(self):
        user = 'flagger'
        self.rig.add_dest_user(user)
        run, _ = traced(self.rig, user)
        self.check(run, self.total)
        self.rig.doveadm('flags', 'add', '-u', SRC_USER, r'\Flagged', 'mailbox', 'Projects',
                         'uid', '2', conf='src', check=True)
        self.addCleanup(self.rig.doveadm, 'flags', 'remove', '-u', SRC_USER, r'\Flagged',
                        'mailbox', 'Projects', 'uid', '2', conf='src', check=True)
        run, calls = traced(self.rig, user)
        self.check(run, 0)
        self.assertEqual(run.row['flags_updated'], '1', run.describe())
        kinds = [c for c, _ in calls]
        self.assertNotIn('syncfs', kinds)
        files = set(self.message_files(user))
        self.assertEqual([p for _, p in calls if p in files], [], 'message files flushed')
        self.assertTrue([p for _, p in calls if STATE_TMP.search(p)], calls)


class MaildirFlushTest(FlushTestBase, unittest.TestCase):
    MAIL_LOCATION = 'maildir:~/Maildir'

    def test_imapc_filled_destination_is_recognised_once_and_then_flushes_nothing(self):
        """The provider switched tools between passes: `doveadm backup -R imapc:` filled the
        destination; this tool recognises every message (copies none) and writes its state
        once; the passes after that flush nothing. One source folder's newest message was
        deleted before (its UIDNEXT stays above its last message)."""
        user = 'imapcfill'
        self.rig.add_dest_user(user)
        self.rig.doveadm('expunge', '-u', SRC_USER, 'mailbox', 'Projects', 'uid',
                         str(PER_FOLDER), conf='src', check=True)
        total = self.total - 1  # (this test runs last in its class)
        self.rig.doveadm(*self.rig.imapc_args(SRC_USER, SRC_PW), 'backup', '-R', '-u', user,
                         'imapc:', check=True)
        run, calls = traced(self.rig, user)
        self.check(run, 0)
        self.assertEqual(int(run.row['skipped']), total, run.describe())
        self.assertEqual(calls, [('fsync', calls[0][1])] if calls else [],
                         'flushed more than the state once although nothing was saved')
        self.assertTrue(calls and STATE_TMP.search(calls[0][1]), calls)
        for _ in range(2):
            again, calls = traced(self.rig, user)
            self.check(again, 0)
            self.assertEqual(calls, [], 'a pass with nothing new flushed something')


class SdboxFlushTest(FlushTestBase, unittest.TestCase):
    MAIL_LOCATION = 'sdbox:~/sdbox'


class MdboxFlushTest(FlushTestBase, unittest.TestCase):
    MAIL_LOCATION = 'mdbox:~/mdbox'


if __name__ == '__main__':
    unittest.main()
