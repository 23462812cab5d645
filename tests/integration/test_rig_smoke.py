"""Proves the integration rig itself: both Dovecot instances, TLS, corpus loading, inspection,
the dev doveadm module mount, quota and the doveadm HTTP API. Runs in well under 20 s."""

import os
import socket
import ssl
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'dovecot'))

import corpus  # noqa: E402
import rig  # noqa: E402
from rig import Rig, project, _pid_alive  # noqa: E402


class RigSmokeTest(unittest.TestCase):
    rig = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='smoke')
        cls.rig.__enter__()
        cls.rig.add_source_user('alice', 'alicepw')
        cls.corpus = corpus.edge_corpus('small')
        cls.stats = cls.rig.load_source('alice', cls.corpus)

    @classmethod
    def tearDownClass(cls):
        if cls.rig:
            pids = [i.master_pid for i in (cls.rig.src, cls.rig.dst)]
            cls.rig.__exit__(None, None, None)
            for p in pids:
                assert p is None or not _pid_alive(p), 'master %s still running' % p
            assert cls.rig.leftover_processes() == [], 'processes left running'
            assert not os.path.exists(cls.rig.dir) or cls.rig.keep

    def fail_with_logs(self, msg):
        self.fail('%s\n%s\n%s' % (msg, self.rig.describe(), self.rig.logs_tail()))

    # ---------------------------------------------------------------- source

    def test_source_plain_login(self):
        with self.rig.imap_login(self.rig.src_imap_port, 'alice', 'alicepw') as c:
            typ, caps = c.capability()
            self.assertEqual(typ, 'OK')
            self.assertIn(b'CONDSTORE', caps[0])
            self.assertIn(b'SPECIAL-USE', caps[0])

    def test_source_starttls_login_verifies_cert(self):
        with self.rig.imap_login(self.rig.src_imap_port, 'alice', 'alicepw', tls='starttls') as c:
            self.assertEqual(c.select('INBOX', readonly=True)[0], 'OK')
            self.assertEqual(c.sock.getpeercert()['subject'], ((('commonName', 'localhost'),),))

    def test_source_imaps_login_verifies_cert(self):
        with self.rig.imap_login(self.rig.src_imaps_port, 'alice', 'alicepw', tls='imaps') as c:
            self.assertEqual(c.noop()[0], 'OK')
        # ... and the cert is really checked: a context without the rig CA refuses it.
        ctx = ssl.create_default_context()
        with socket.create_connection(('127.0.0.1', self.rig.src_imaps_port), timeout=10) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(s, server_hostname='localhost')

    def test_source_wrong_password(self):
        import imaplib
        with self.assertRaises(imaplib.IMAP4.error):
            self.rig.imap_login(self.rig.src_imap_port, 'alice', 'wrong')

    def test_load_source_matches_corpus(self):
        self.assertEqual(self.stats['messages'], self.corpus.total_messages)
        msgs = self.rig.messages('src', 'alice')
        self.assertEqual(project(msgs), project(self.corpus.expected()))
        # sizes as stored and UIDs in corpus order
        by_box = {}
        for m in msgs:
            by_box.setdefault(m['mailbox'], []).append(m)
        for f in self.corpus.folders:
            got = by_box.get(self.corpus.vname(f.name), [])
            self.assertEqual([m['uid'] for m in got], list(range(1, len(f.messages) + 1)))
            self.assertEqual([m['size'] for m in got], [len(x.data) for x in f.messages])
            self.assertEqual([m['date_received'] for m in got],
                             [x.internaldate for x in f.messages])
            self.assertEqual([m['flags'] for m in got], [x.flags for x in f.messages])

    def test_source_mailboxes(self):
        boxes = {b['name']: b for b in self.rig.mailboxes('src', 'alice')}
        for f in self.corpus.folders:
            b = boxes[self.corpus.vname(f.name)]
            self.assertTrue(b['selectable'], b)
            self.assertEqual(b['messages'], len(f.messages), b)
            self.assertEqual(b['subscribed'], f.subscribed, b)
            self.assertEqual(b['special_use'], f.special_use, b)
        self.assertFalse(boxes['Deep/L2']['selectable'])
        self.assertIn('Projects.2024', boxes)
        self.assertIn('Projects/2024', boxes)
        self.assertGreater(boxes['INBOX']['uidvalidity'], 0)

    def test_source_keeps_every_flag_and_keyword(self):
        msgs = self.rig.messages('src', 'alice', content=False)
        flags = set(f for m in msgs for f in m['flags'])
        for fl in corpus.SYSTEM_FLAGS + ('$Forwarded', '$Junk', 'project-x', '$label1', 'Work'):
            self.assertIn(fl, flags)
        self.assertTrue(any(set(corpus.SYSTEM_FLAGS) <= set(m['flags']) for m in msgs))

    # ---------------------------------------------------------------- dest

    def test_dest_user_fields_and_quota(self):
        r = self.rig
        r.add_dest_user('dana', 'danapw', quota='1M', extra={'migrate_source_password': 's3cret'})
        out = r.doveadm('user', 'dana', check=True).stdout
        for k, v in rig.quota_fields(storage='1M').items():
            self.assertIn('%s\t%s' % (k, v), out)
        self.assertIn('migrate_source_password\ts3cret', out)
        self.assertIn(r.dst_home('dana'), out)
        q = r.quota('dana')
        self.assertEqual(q['STORAGE']['limit'], 1024)
        self.assertEqual(q['STORAGE']['value'], 0)
        # same-size rewrite within the same second is still re-read (mtime trick)
        r.add_dest_user('dana', 'danapw', quota='2M', extra={'migrate_source_password': 's3cret'})
        self.assertEqual(r.quota('dana')['STORAGE']['limit'], 2048)
        # users not in the passwd-file come from the static fallback with the default rule
        self.assertEqual(r.quota('nobody-here')['STORAGE']['limit'], 1024 * 1024)
        with r.imap_login(r.dst_imap_port, 'dana', 'danapw') as c:
            self.assertEqual(c.getquotaroot('INBOX')[0], 'OK')

    def test_dest_dev_doveadm_module(self):
        r = self.rig
        if not r.has_dev_doveadm_module:
            self.skipTest('no doveadm module built in %s' % r.build_dir)
        names = [os.path.basename(m) for m in r.dev_doveadm_modules()]
        for n in names:
            self.assertTrue(os.path.exists(os.path.join(r.doveadm_modules, n)))
        # doveadm prints its command list (stderr) with every loaded module's commands.
        res = r.doveadm('help')
        listed = res.stderr + res.stdout
        self.assertRegex(listed, r'\n  migrate ', 'dev module not loaded:\n' + listed)
        # ... and only through the private bind mount: the stock doveadm does not know it.
        import subprocess
        if not any(os.path.exists(os.path.join('/usr/lib/dovecot/modules/doveadm', n))
                   for n in names):   # (unless it is installed)
            stock = subprocess.run(['/usr/bin/doveadm', 'help'], capture_output=True, text=True)
            self.assertNotRegex(stock.stderr + stock.stdout, r'\n  migrate ')

    def test_dest_special_use_and_http_api(self):
        r = self.rig
        r.add_dest_user('erin', 'erinpw')
        r.doveadm('mailbox', 'create', '-u', 'erin', 'Sent', 'Archive', 'Other', check=True)
        boxes = {b['name']: b for b in r.mailboxes('dst', 'erin')}
        self.assertEqual(boxes['Sent']['special_use'], r'\Sent')
        self.assertEqual(boxes['Archive']['special_use'], r'\Archive')
        self.assertEqual(boxes['Other']['special_use'], '')
        self.assertNotIn('Drafts', boxes)   # auto = no
        resp = r.http_api([['mailboxList', {'user': 'erin'}, 't1']])
        self.assertEqual(resp[0][0], 'doveadmResponse', resp)
        self.assertIn({'mailbox': 'Sent'}, resp[0][1])

    def test_baseline_backup_into_dest(self):
        """The built-in baseline (dsync over imapc) copies the corpus: proves dest storage and
        the comparison helpers end to end."""
        r = self.rig
        r.add_dest_user('alice')
        res = r.doveadm(*r.imapc_args('alice', 'alicepw'), 'backup', '-R', '-u', 'alice', 'imapc:')
        if res.returncode != 0:
            self.fail_with_logs('backup failed: %s' % res.stderr)
        keys = ('message_id', 'flags', 'date_received', 'vsize', 'sha256')
        self.assertEqual(project(r.messages('dst', 'alice'), keys),
                         project(self.corpus.expected(), keys))
        self.assertEqual(r.log_errors('src'), [])
        self.assertEqual(r.log_errors('dst'), [])


class DotSourceTest(unittest.TestCase):
    """Courier/Cyrus style source: separator '.', namespace prefix INBOX., no special-use."""

    def test_dot_source_without_special_use(self):
        c = corpus.edge_corpus('small', sep='.', special_use=False)
        with Rig(src_sep='.', src_special_use=False, dest=False, name='dot') as r:
            r.add_source_user('bob', 'bobpw')
            r.load_source('bob', c)
            self.assertEqual(project(r.messages('src', 'bob')), project(c.expected()))
            boxes = {b['name']: b for b in r.mailboxes('src', 'bob')}
            self.assertIn('INBOX.Sent Items', boxes)
            self.assertIn('INBOX.Deleted Items', boxes)
            self.assertIn('INBOX.Ünïcödé.Sub', boxes)
            self.assertEqual(boxes['INBOX.Sent Items']['special_use'], '')
            self.assertFalse(boxes['INBOX.Old Stuff']['subscribed'])
            with r.imap_login(r.src_imap_port, 'bob', 'bobpw') as imap:
                typ, data = imap.list()
                self.assertEqual(typ, 'OK')
                self.assertTrue(any(b'"." "INBOX.Junk E-mail"' in l for l in data), data)
            with self.assertRaises(ValueError):
                r.load_source('bob', corpus.Corpus('x', [corpus.Folder(('a.b',), [])]))


if __name__ == '__main__':
    unittest.main()
