"""INTERNALDATE at and after 2038-01-19 03:14:08 UTC (2^31) and 2106-02-07 06:28:16 UTC (2^32),
on every destination storage format: maildir, sdbox, mdbox and mbox.

Dovecot (2.3 and 2.4) keeps "date.received" in its mail cache as 4 unsigned bytes
(lib-storage/index/index-mail.c, index_mail_cache_dates() / index_mail_get_received_date()).
2^31 .. 2^32-1 survive that; 2^32 and later come back modulo 2^32 (1970) once the cache holds
them. The storage itself keeps them exactly (maildir mtime, dbox metadata, mbox From_ line).
A destination folder that already caches date.received (a client fetched INTERNALDATE there,
as in every INBOX in use) used to cache the wrapped value while `doveadm migrate` saved, so the
first read after the run was wrong; the save now keeps such dates out of the cache.
Whatever reads a date >= 2^32 later caches it wrapped again (Dovecot's read path): only
`mail_never_cache_fields = date.received` keeps every later read exact (last test).

The source Dovecot has the same fault: it reads its maildir mtimes right the first time and
answers the wrapped cached value afterwards, so the source here never caches date.received."""

import datetime
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import Rig, corpus, migrate  # noqa: E402

DAY = 86400
DATES = (2**31 - 1, 2**31, 2**31 + DAY, 2**32 - 1, 2**32, 2**32 + DAY)
FORMATS = {
    'maildir': 'maildir:~/Maildir',
    'sdbox': 'sdbox:~/sdbox',
    'mdbox': 'mdbox:~/mdbox',
    'mbox': 'mbox:~/mail:INBOX=~/mail/inbox',
}
NEVER_CACHE_DATE = 'mail_never_cache_fields = imap.envelope date.received\n'
FOLDERS = ('INBOX', 'Future')   # INBOX exists and caches date.received; Future is created


def dated_corpus():
    def msgs(folder):
        return [corpus.Message(corpus.make_message('%s %d' % (folder, d), 'Far future.\n',
                                                   msgid='%s-%d@dates' % (folder, d)),
                               internaldate=d) for d in DATES]
    return corpus.Corpus('dates', [corpus.Folder((f,), msgs(f)) for f in FOLDERS])


def unix_of_internaldate(text):
    return int(datetime.datetime.strptime(text, '%d-%b-%Y %H:%M:%S %z').timestamp())


class DatesTest(unittest.TestCase):
    maxDiff = None

    def start_rig(self, fmt, dst_extra_conf=''):
        rig = Rig(name='dates-' + fmt, dst_mail_location=FORMATS[fmt],
                  src_extra_conf=NEVER_CACHE_DATE, dst_extra_conf=dst_extra_conf)
        rig.__enter__()
        self.addCleanup(rig.__exit__, None, None, None)
        return rig

    def dates_by_doveadm(self, rig, side, user):
        """{(folder, date the message was made for): date.received} from doveadm fetch."""
        out = {}
        for folder in FOLDERS:
            rows = rig.doveadm_tab('fetch', '-u', user, 'hdr.subject date.received.unixtime',
                                   'mailbox', folder, 'all', conf=side)
            for row in rows:
                if row['hdr.subject'].startswith(folder + ' '):
                    want = int(row['hdr.subject'].split()[1])
                    out[(folder, want)] = int(row['date.received.unixtime'])
        return out

    def dates_by_imap(self, rig, user, password):
        """The same through IMAP FETCH INTERNALDATE on the destination."""
        out = {}
        with rig.imap_login(rig.dst_imap_port, user, password) as c:
            for folder in FOLDERS:
                c.select(folder, readonly=True)
                typ, data = c.fetch('1:*', '(INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
                self.assertEqual(typ, 'OK')
                for item in data:
                    if not isinstance(item, tuple):
                        continue
                    head = item[0].decode()
                    subject = item[1].decode().split(':', 1)[1].strip()
                    if subject.startswith(folder + ' '):
                        date = head.split('INTERNALDATE "', 1)[1].split('"', 1)[0]
                        out[(folder, int(subject.split()[1]))] = unix_of_internaldate(date)
            c.logout()
        return out

    @staticmethod
    def expected():
        return {(f, d): d for f in FOLDERS for d in DATES}

    def prepare_user(self, rig, user, password):
        """A destination user whose INBOX is in use: local mail, and a client that fetched
        INTERNALDATE there (so the folder caches date.received for new mail)."""
        rig.add_source_user(user, password)
        rig.load_source(user, dated_corpus())
        rig.add_dest_user(user, password)
        local = corpus.make_message('Local', 'Delivered here.\n', msgid='local-%s@dest' % user)
        rig.doveadm('save', '-u', user, '-m', 'INBOX', input=local, text=False, check=True)
        with rig.imap_login(rig.dst_imap_port, user, password) as c:
            c.select('INBOX', readonly=True)
            self.assertEqual(c.fetch('1:*', '(INTERNALDATE)')[0], 'OK')
            c.logout()
        run = migrate(rig, user, password=password)
        if run.rc != 0 or run.row.get('result') != 'ok':
            self.fail('migrate failed\n%s\n%s' % (run.describe(), rig.logs_tail(40)))

    def maildir_mtimes(self, rig, user):
        out = {}
        for folder in FOLDERS:
            box = os.path.join(rig.dst_home(user), 'Maildir', '' if folder == 'INBOX' else '.' + folder)
            for path in [os.path.join(box, sub, n) for sub in ('new', 'cur')
                         for n in os.listdir(os.path.join(box, sub))]:
                with open(path, 'rb') as f:
                    subject = [l for l in f.read().split(b'\n') if l.startswith(b'Subject: ')]
                text = subject[0][9:].strip().decode()
                if text.startswith(folder + ' '):
                    out[(folder, int(text.split()[1]))] = int(os.stat(path).st_mtime)
        return out

    def check_format(self, fmt):
        rig = self.start_rig(fmt)
        # The source answers exactly (it never caches date.received here), twice.
        rig.add_source_user('carol', 'carolpw')
        rig.load_source('carol', dated_corpus())
        for _ in range(2):
            self.assertEqual(self.dates_by_doveadm(rig, 'src', 'carol'), self.expected())

        # First read after the run through IMAP (alice) and through doveadm (bob).
        self.prepare_user(rig, 'alice', 'alicepw')
        self.prepare_user(rig, 'bob', 'bobpw')
        self.assertEqual(self.dates_by_imap(rig, 'alice', 'alicepw'), self.expected(),
                         '%s: IMAP INTERNALDATE right after the run' % fmt)
        self.assertEqual(self.dates_by_doveadm(rig, 'dst', 'bob'), self.expected(),
                         '%s: doveadm fetch date.received right after the run' % fmt)
        if fmt == 'maildir':
            for user in ('alice', 'bob'):
                self.assertEqual(self.maildir_mtimes(rig, user), self.expected())
        # Dates below 2^32 also survive Dovecot's cache: every later read gives them back.
        below = {k: v for k, v in self.expected().items() if v < 2**32}
        later = self.dates_by_doveadm(rig, 'dst', 'alice')
        self.assertEqual({k: v for k, v in later.items() if k in below}, below)
        later = self.dates_by_imap(rig, 'bob', 'bobpw')
        self.assertEqual({k: v for k, v in later.items() if k in below}, below)

    def test_maildir(self):
        self.check_format('maildir')

    def test_sdbox(self):
        self.check_format('sdbox')

    def test_mdbox(self):
        self.check_format('mdbox')

    def test_mbox(self):
        self.check_format('mbox')

    def test_never_cached_dates_stay_exact(self):
        """With date.received never cached every read gives the exact date (admin guide)."""
        rig = self.start_rig('maildir', dst_extra_conf=NEVER_CACHE_DATE)
        self.prepare_user(rig, 'alice', 'alicepw')
        for _ in range(2):
            self.assertEqual(self.dates_by_doveadm(rig, 'dst', 'alice'), self.expected())
            self.assertEqual(self.dates_by_imap(rig, 'alice', 'alicepw'), self.expected())


if __name__ == '__main__':
    unittest.main()
