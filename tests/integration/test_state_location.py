"""Where `doveadm migrate` keeps a user's files (state, run status), under every layout it
supports: never visible as a mail folder, found again by the next run, and moved from the old
place (<home>/.migrate/, which Maildir++ with the home as its mail root listed as a folder
"migrate") without copying anything twice."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, Rig, corpus, expected_messages, migrate, project, read_status, state_files)

PW = 'Layout-Pw-5150'
# Flat: an mbox folder that holds mail cannot have children.
FOLDERS = (('INBOX',), ('Work',), ('Projects',))
# userdb mail (and home) per user: the home equal to the mail root, the mail root inside the
# home (the rig's default), and the home inside the mail root.
LAYOUTS = {
    'mdpp': {'mail': 'maildir:~'},
    'mdfs': {'mail': 'maildir:~:LAYOUT=fs'},
    'sdbox': {'mail': 'sdbox:~'},
    'mdbox': {'mail': 'mdbox:~'},
    'mbox': {'mail': 'mbox:~:INBOX=~/inbox'},
    'inside': {},
}


class StateLocationTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-stateloc')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(3, folders=FOLDERS, tag='loc')
        cls.rig.add_source_user('locsrc', PW)
        cls.rig.load_source('locsrc', cls.corpus)
        for user, fields in LAYOUTS.items():
            cls.rig.add_dest_user(user, extra=fields)
        # The home inside the mail root: mail in <rig>/mail/homein, home below it.
        root = os.path.join(cls.rig.dst.mail_dir, 'homein')
        cls.rig.add_dest_user('homein', extra={'mail': 'maildir:%s:LAYOUT=fs' % root,
                                               'home': os.path.join(root, 'home')})
        cls.rig.add_dest_user('legacy', extra={'mail': 'maildir:~'})
        cls.rig.add_dest_user('ownfolder', extra={'mail': 'maildir:~'})

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def run_migrate(self, user):
        run = migrate(self.rig, user, password=PW, source_user='locsrc')
        self.assertEqual(run.rc, 0, run.describe())
        return run.row

    def folders(self, user):
        r = self.rig.doveadm('mailbox', 'list', '-u', user, check=True)
        return sorted(r.stdout.split())

    def assert_only_the_mail(self, user):
        self.assertEqual(self.folders(user), ['INBOX', 'Projects', 'Work'])
        self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                         expected_messages(self.rig, self.corpus))

    def test_every_layout_hides_the_files_and_finds_them_again(self):
        for user in list(LAYOUTS) + ['homein']:
            with self.subTest(user):
                first = self.run_migrate(user)
                self.assertEqual(first['copied'], '9', first)
                self.assert_only_the_mail(user)
                names = [os.path.basename(p) for p in state_files(self.rig, user)]
                self.assertIn('dovecot-migrate.status', names)
                self.assertTrue([n for n in names if n.endswith('.state')], names)
                self.assertEqual(read_status(self.rig, user)['state'], 'ok')
                self.assertFalse(os.path.exists(os.path.join(self.rig.dst_home(user), '.migrate')))
                again = self.run_migrate(user)
                self.assertEqual((again['copied'], again['skipped']), ('0', '0'), again)
                self.assert_only_the_mail(user)

    def test_files_at_the_old_place_are_moved_and_the_folder_goes(self):
        user = 'legacy'
        self.run_migrate(user)
        # Put the files back where an earlier version kept them, as Maildir++ then showed them:
        # a folder "migrate" (Dovecot made cur/new/tmp in it when a client opened it).
        old = os.path.join(self.rig.dst_home(user), '.migrate')
        os.mkdir(old)
        for path in state_files(self.rig, user):
            name = os.path.basename(path)[len(self.rig.STATE_PREFIX):]
            shutil.move(path, os.path.join(old, name))
        for sub in ('cur', 'new', 'tmp'):
            os.mkdir(os.path.join(old, sub))
        open(os.path.join(old, 'maildirfolder'), 'w').close()
        shutil.chown(old, 20001, 20001)
        for root, dirs, files in os.walk(old):
            for n in dirs + files:
                shutil.chown(os.path.join(root, n), 20001, 20001)
        self.assertIn('migrate', self.folders(user))
        self.assertEqual(read_status(self.rig, user), None)
        # Still read there before any run of this version moved it.
        rows = self.rig.doveadm_tab('migrate', 'status', '-u', user)
        self.assertEqual(rows[0]['state'], 'ok', rows)
        again = self.run_migrate(user)
        self.assertEqual((again['copied'], again['skipped']), ('0', '0'), again)
        self.assertFalse(os.path.exists(old))
        self.assert_only_the_mail(user)
        self.assertEqual(read_status(self.rig, user)['state'], 'ok')

    def test_a_user_folder_named_migrate_is_left_alone(self):
        user = 'ownfolder'
        self.run_migrate(user)
        self.rig.doveadm('mailbox', 'create', '-u', user, 'migrate', check=True)
        self.rig.doveadm('save', '-u', user, '-m', 'migrate', check=True,
                         input='From: a@b\r\nSubject: mine\r\nMessage-ID: <mine@x>\r\n\r\nkeep\r\n')
        old = os.path.join(self.rig.dst_home(user), '.migrate')
        open(os.path.join(old, 'status'), 'w').close()   # as if an old version had left one
        self.run_migrate(user)
        self.assertIn('migrate', self.folders(user))
        self.assertEqual(self.rig.doveadm_tab('fetch', '-u', user, 'hdr.message-id', 'mailbox',
                                              'migrate')[0]['hdr.message-id'], '<mine@x>')
        self.assertFalse(os.path.exists(os.path.join(old, 'status')))


if __name__ == '__main__':
    unittest.main()
