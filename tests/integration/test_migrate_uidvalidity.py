"""A UIDVALIDITY change at the source between two passes (the old server rebuilt its index):
reported, and handled without a single duplicate; the new mail since is copied."""

import glob
import os
import unittest

from migrate_helpers import (CONTENT_KEYS, Rig, corpus, duplicates, expected_messages, migrate,
                             project)


class UidValidityChangeTest(unittest.TestCase):

    def test_rebuilt_source_index_is_matched_by_content(self):
        with Rig(name='mig-uidv') as r:
            first = corpus.Corpus('uidv', [
                corpus.Folder(('INBOX',), corpus.simple_messages(30, 'uidv-inbox')),
                corpus.Folder(('Work',), corpus.simple_messages(12, 'uidv-work')),
            ])
            r.add_source_user('uma', 'uma-pw')
            r.load_source('uma', first)
            r.add_dest_user('uma')
            run = migrate(r, 'uma', password='uma-pw')
            self.assertEqual(run.rc, 0, run.describe())
            before = {m['name']: m['uidvalidity'] for m in r.mailboxes('src', 'uma')}

            # The old server loses its index and UID list for Work: Dovecot assigns a new
            # UIDVALIDITY and renumbers the messages, as Courier or Cyrus do after a rebuild.
            work = r.src_folder_dir('uma', ('Work',))
            removed = [p for pattern in ('dovecot-uidlist', 'dovecot.index*', 'dovecot-uidvalidity*')
                       for p in glob.glob(os.path.join(work, pattern))]
            self.assertTrue(removed, 'no index files found under %s' % work)
            for p in removed:
                os.unlink(p)
            # ...and new mail arrives there meanwhile.
            more = corpus.Corpus('uidv', [
                corpus.Folder(('Work',), corpus.simple_messages(3, 'uidv-new')),
            ])
            r.load_source('uma', more)
            after = {m['name']: m['uidvalidity'] for m in r.mailboxes('src', 'uma')}
            self.assertNotEqual(after['Work'], before['Work'], 'the source kept its UIDVALIDITY')
            self.assertEqual(after['INBOX'], before['INBOX'])

            run2 = migrate(r, 'uma', '-v', password='uma-pw')
            self.assertEqual(run2.rc, 0, run2.describe())
            self.assertEqual(int(run2.row['copied']), 3, run2.describe())
            self.assertEqual(int(run2.row['skipped']), 12, run2.describe())
            self.assertIn('UIDVALIDITY changed at the source', run2.err)

            whole = corpus.Corpus('uidv', [
                corpus.Folder(('INBOX',), corpus.simple_messages(30, 'uidv-inbox')),
                corpus.Folder(('Work',), corpus.simple_messages(12, 'uidv-work')
                              + corpus.simple_messages(3, 'uidv-new')),
            ])
            msgs = r.messages('dst', 'uma')
            self.assertEqual(duplicates(msgs, expected_messages(r, whole)), {})
            self.assertEqual(project(msgs, CONTENT_KEYS), expected_messages(r, whole))

            # And the pass after that is quiet again.
            run3 = migrate(r, 'uma', password='uma-pw')
            self.assertEqual(run3.rc, 0, run3.describe())
            self.assertEqual(int(run3.row['copied']), 0, run3.describe())


if __name__ == '__main__':
    unittest.main()
