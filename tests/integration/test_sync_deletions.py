"""--sync-deletions against real Dovecot, on maildir and sdbox destinations: without it nothing is
deleted; with it a message deleted at the source is expunged here, one moved at the source is moved
here (one copy, not downloaded again), a copy flagged here or moved here by the user is left alone
(and reported), mail delivered here survives, a dry run changes nothing, and an emptied source
folder or a UIDVALIDITY change stops the pass for that folder with an error and expunges nothing."""

import glob
import os
import unittest

from migrate_helpers import EX_PROTOCOL, Rig, corpus, migrate

USER = 'dora'
PW = 'dora-pw'


def mid(tag, i):
    return '<%s-%d@corpus.migrate.test>' % (tag, i)


class SyncDeletionsTest(unittest.TestCase):
    maxDiff = None

    def where(self, r):
        """{Message-ID: [destination mailboxes]} of every message here."""
        out = {}
        for m in r.messages('dst', USER, content=False):
            out.setdefault(m['message_id'], []).append(m['mailbox'])
        return out

    def run_scenario(self, fmt, location):
        with Rig(name='mig-del-' + fmt, dst_mail_location=location) as r:
            r.add_source_user(USER, PW)
            r.load_source(USER, corpus.Corpus('del', [
                corpus.Folder(('INBOX',), corpus.simple_messages(6, 'in')),
                corpus.Folder(('Work',), corpus.simple_messages(3, 'wk')),
                corpus.Folder(('Trash',), corpus.simple_messages(2, 'tr')),
            ]))
            r.add_dest_user(USER)
            first = migrate(r, USER, password=PW)
            self.assertEqual(first.rc, 0, first.describe())
            self.assertEqual(int(first.row['copied']), 11, first.describe())

            def src(*args):
                r.doveadm(*args, conf='src', check=True)

            def dst(*args, **kw):
                return r.doveadm(*args, conf='dst', check=True, **kw)

            # Without the option nothing is ever deleted.
            src('expunge', '-u', USER, 'mailbox', 'INBOX', 'header', 'Message-ID', mid('in', 1))
            plain = migrate(r, USER, password=PW)
            self.assertEqual(plain.rc, 0, plain.describe())
            self.assertEqual(plain.row['expunged'], '0', plain.describe())
            self.assertEqual(self.where(r)[mid('in', 1)], ['INBOX'])

            # The cut-over days: in-2 moved to Work at the source; in-3 deleted there but
            # flagged here; in-4 moved to "Mine" here by the user, then deleted at the source;
            # mail delivered here meanwhile.
            src('move', '-u', USER, 'Work', 'mailbox', 'INBOX', 'header', 'Message-ID', mid('in', 2))
            dst('flags', 'add', '-u', USER, '\\Flagged', 'mailbox', 'INBOX', 'header', 'Message-ID',
                mid('in', 3))
            dst('mailbox', 'create', '-u', USER, 'Mine')
            dst('move', '-u', USER, 'Mine', 'mailbox', 'INBOX', 'header', 'Message-ID', mid('in', 4))
            for i in (3, 4):
                src('expunge', '-u', USER, 'mailbox', 'INBOX', 'header', 'Message-ID', mid('in', i))
            local = ('From: x@example.org\r\nTo: dora@example.org\r\nSubject: local\r\n'
                     'Message-ID: <local@dest.test>\r\n\r\ndelivered after the switch\r\n')
            dst('save', '-u', USER, '-m', 'INBOX', input=local)
            before = self.where(r)

            dry = migrate(r, USER, '--sync-deletions', '-n', password=PW)
            self.assertEqual(dry.rc, 0, dry.describe())
            self.assertEqual((dry.row['expunged'], dry.row['moved'], dry.row['changed_here']),
                             ('1', '1', '1'), dry.describe())
            self.assertEqual(self.where(r), before, 'a dry run changed the destination')

            run = migrate(r, USER, '--sync-deletions', password=PW)
            self.assertEqual(run.rc, 0, run.describe())
            self.assertEqual((run.row['expunged'], run.row['moved'], run.row['changed_here'],
                              run.row['copied']), ('1', '1', '1', '0'), run.describe())
            self.assertIn('changed here since this tool copied them', run.err)
            here = self.where(r)
            self.assertNotIn(mid('in', 1), here)                  # deleted at the source
            self.assertEqual(here[mid('in', 2)], ['Work'])        # moved there, once
            self.assertEqual(here[mid('in', 3)], ['INBOX'])       # flagged here: stays
            self.assertEqual(here[mid('in', 4)], ['Mine'])        # the user's move stays
            self.assertEqual(here['<local@dest.test>'], ['INBOX'])
            for i in (0, 5):
                self.assertEqual(here[mid('in', i)], ['INBOX'])

            again = migrate(r, USER, '--sync-deletions', password=PW)
            self.assertEqual(again.rc, 0, again.describe())
            self.assertEqual((again.row['copied'], again.row['expunged'], again.row['moved']),
                             ('0', '0', '0'), again.describe())
            self.assertEqual(self.where(r), here)

            # A broken source: Trash lists nothing, Work lost its index (new UIDVALIDITY) and
            # one message. Nothing is expunged in either; the run says why and fails.
            src('expunge', '-u', USER, 'mailbox', 'Trash', 'all')
            src('expunge', '-u', USER, 'mailbox', 'Work', 'header', 'Message-ID', mid('wk', 1))
            work = r.src_folder_dir(USER, ('Work',))
            for pattern in ('dovecot-uidlist', 'dovecot.index*', 'dovecot-uidvalidity*'):
                for p in glob.glob(os.path.join(work, pattern)):
                    os.unlink(p)
            broken = migrate(r, USER, '--sync-deletions', password=PW)
            self.assertEqual(broken.rc, EX_PROTOCOL, broken.describe())
            self.assertIn('deletions not carried in 2 folders', broken.row['error'])
            self.assertIn("folder 'Trash': deletions not carried: the source lists none of the "
                          'messages', broken.err)
            self.assertIn("folder 'Work': deletions not carried: its UIDVALIDITY changed at the "
                          'source', broken.err)
            self.assertEqual(broken.row['expunged'], '0', broken.describe())
            self.assertEqual(self.where(r), here)

    def test_maildir(self):
        self.run_scenario('maildir', 'maildir:~/Maildir')

    def test_sdbox(self):
        self.run_scenario('sdbox', 'sdbox:~/sdbox')


if __name__ == '__main__':
    unittest.main()
