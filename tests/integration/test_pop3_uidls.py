"""POP3 UIDLs kept across the switch (issue 13, part 1), against real Dovecot servers: a source
with POP3 whose pop3_uidl_format differs from the destination's, a destination with POP3. A POP3
client that left its mail on the old server and remembers the old UIDLs lists the new server and
finds nothing new to download: same UIDLs, same order. Without --source-pop3 it would download
everything again (the check that this test can fail)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import LOCALHOST, Rig, corpus, migrate, src_snapshot  # noqa: E402
from rig import V24  # noqa: E402

PW = 'pop3-Secret-pw'
# Not the destination's (Dovecot's default %08Xu%08Xv).
SRC_UIDL_FORMAT = 'pop3_uidl_format = old-%s\n' % ('%{uid}-%{uidvalidity}' if V24 else '%u-%v')


def new_message(subject):
    return ('From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\n'
            'Message-ID: <%s@pop3.test>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n'
            'Body of %s.\r\n' % (subject, subject.replace(' ', '-'), subject)).encode()


class Pop3UidlsTest(unittest.TestCase):
    maxDiff = None
    dst_mail_location = 'maildir:~/Maildir'

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-pop3', src_protocols=('pop3',), dst_protocols=('pop3',),
                      src_extra_conf=SRC_UIDL_FORMAT, dst_mail_location=cls.dst_mail_location)
        cls.rig.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def user(self, name, c=None):
        self.rig.add_source_user(name, PW)
        self.rig.load_source(name, c or corpus.edge_corpus('small'))
        self.rig.add_dest_user(name, PW)
        self.rig.wait_users_visible()

    def old_uidls(self, name, tls='none'):
        port = self.rig.src_pop3s_port if tls == 'pop3s' else self.rig.src_pop3_port
        return self.rig.pop3_uidls(port, name, PW, tls=tls)

    def new_uidls(self, name):
        return self.rig.pop3_uidls(self.rig.dst_pop3_port, name, PW)

    def pop3_option(self, port=None):
        return ['--source-pop3', '%s:%d' % (LOCALHOST, port or self.rig.src_pop3_port)]

    def assert_ok(self, run):
        self.assertEqual((run.rc, run.row.get('result')), (0, 'ok'), run.describe() + self.rig.logs_tail(40))

    def test_a_pop3_client_finds_nothing_new_after_the_switch(self):
        self.user('palice')
        before = src_snapshot(self.rig, 'palice')
        seen = self.old_uidls('palice')  # the client downloaded everything, leaving it on the server
        self.assertTrue(seen and all(u.startswith('old-') for _, u in seen), seen)

        run = migrate(self.rig, 'palice', *self.pop3_option(), password=PW, verbose=True)
        self.assert_ok(run)
        self.assertEqual(run.row['pop3_uidls'], 'kept=%d' % len(seen), run.describe())
        self.assertEqual(self.new_uidls('palice'), seen, 'same UIDLs in the same order')
        self.assertEqual(src_snapshot(self.rig, 'palice'), before, 'the source is only read')

        # Mail delivered after the switch is all the client downloads.
        self.rig.doveadm('save', '-u', 'palice', '-m', 'INBOX', input=new_message('after the switch').decode(),
                         check=True)
        remembered = {u for _, u in seen}
        self.assertEqual(len([u for _, u in self.new_uidls('palice') if u not in remembered]), 1)

    def test_without_the_pop3_side_the_client_would_download_everything_again(self):
        self.user('pbob')
        seen = {u for _, u in self.old_uidls('pbob')}
        run = migrate(self.rig, 'pbob', '--source-pop3', 'no', password=PW)
        self.assert_ok(run)
        self.assertEqual(run.row['pop3_uidls'], '')
        after = self.new_uidls('pbob')
        self.assertEqual(len(after), len(seen))
        self.assertFalse(seen & {u for _, u in after}, 'every UIDL is new: everything comes again')

    def test_new_mail_of_a_later_run_keeps_its_uidl_too(self):
        self.user('pcarol', corpus.simple_corpus(5))
        self.assert_ok(migrate(self.rig, 'pcarol', *self.pop3_option(), password=PW))
        with self.rig.imap_login(self.rig.src_imap_port, 'pcarol', PW) as imap:
            imap.append('INBOX', None, None, new_message('late arrival'))
        run = migrate(self.rig, 'pcarol', *self.pop3_option(), password=PW)
        self.assert_ok(run)
        self.assertEqual((run.row['copied'], run.row['pop3_uidls']), ('1', 'kept=1'), run.describe())
        self.assertEqual(self.new_uidls('pcarol'), self.old_uidls('pcarol'))

    def test_copies_of_a_run_without_pop3_get_their_uidls_later_where_the_storage_can(self):
        self.user('phil', corpus.simple_corpus(4))
        self.assert_ok(migrate(self.rig, 'phil', '--source-pop3', 'no', password=PW))
        with self.rig.imap_login(self.rig.src_imap_port, 'phil', PW) as imap:
            imap.append('INBOX', None, None, new_message('after a run without pop3'))
        run = migrate(self.rig, 'phil', *self.pop3_option(), password=PW)
        self.assert_ok(run)
        old = {u for _, u in self.old_uidls('phil')}
        new = {u for _, u in self.new_uidls('phil')}
        if self.dst_mail_location.startswith('maildir'):
            # maildir can change a saved message's UIDL (not its POP3 order).
            self.assertEqual(run.row['pop3_uidls'], 'kept=1 added=4', run.describe())
            self.assertEqual(new, old)
        else:
            # sdbox cannot: only the new message has its old UIDL.
            self.assertEqual(run.row['pop3_uidls'], 'kept=1', run.describe())
            self.assertEqual(len(new & old), 1)

    def test_tls_from_the_start_and_stls_as_the_imap_side_does(self):
        self.user('pdave', corpus.simple_corpus(3))
        run = migrate(self.rig, 'pdave', *self.pop3_option(self.rig.src_pop3s_port), password=PW, tls='imaps')
        self.assert_ok(run)
        self.assertEqual(run.row['pop3_uidls'], 'kept=3', run.describe())
        self.user('perin', corpus.simple_corpus(3))
        run = migrate(self.rig, 'perin', *self.pop3_option(), password=PW, tls='starttls')
        self.assert_ok(run)
        self.assertEqual(run.row['pop3_uidls'], 'kept=3', run.describe())
        self.assertEqual(self.new_uidls('perin'), self.old_uidls('perin', tls='pop3s'))

    def test_auto_without_pop3_on_the_usual_port_copies_the_mail_and_says_skipped(self):
        self.user('pfrank', corpus.simple_corpus(2))
        run = migrate(self.rig, 'pfrank', password=PW, verbose=True)  # auto: 127.0.0.1:110, nobody there
        self.assert_ok(run)
        self.assertEqual(run.row['pop3_uidls'], 'skipped', run.describe())
        self.assertIn('no POP3 UIDLs: ', run.text)

    def test_a_named_pop3_server_that_refuses_stops_before_inbox(self):
        self.user('pgina', corpus.simple_corpus(2))
        run = migrate(self.rig, 'pgina', '--source-pop3', '%s:%d' % (LOCALHOST, self.rig.src_imap_port),
                      password=PW)
        self.assertNotEqual(run.rc, 0, run.describe())
        self.assertIn('reading the POP3 UIDLs at %s:%d' % (LOCALHOST, self.rig.src_imap_port), run.row['error'])
        self.assertIn('--source-pop3 no', run.row['error'])
        self.assertEqual(self.new_uidls('pgina'), [], 'INBOX was not copied without its UIDLs')


class Pop3UidlsSdboxTest(Pop3UidlsTest):
    """The same into sdbox, which keeps UIDLs in each message file and announces them in its
    index header (a second run's UIDLs depend on the header being raised: research 6.A)."""
    dst_mail_location = 'sdbox:~/sdbox'


if __name__ == '__main__':
    unittest.main()
