"""Unit tests of the rig's helpers and of the corpus (no Dovecot instance needed; fast), and of
the rig's own promises: it runs from any checkout location, and nothing it started outlives the
process that holds it."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import rig  # noqa: E402


class HelperTest(unittest.TestCase):
    NAMES = ['INBOX', 'Entwürfe', '日本語', 'A&B Co', 'R&D', 'Ünïcödé', 'a,b/c', '~tilde',
             'mixed Ä&ö &', '😀 emoji']

    def test_mutf7_matches_doveadm(self):
        r = subprocess.run(['doveadm', 'mailbox', 'mutf7'] + self.NAMES, capture_output=True,
                           text=True)
        if r.returncode != 0:
            self.skipTest('doveadm mailbox mutf7 unavailable: ' + r.stderr)
        self.assertEqual([rig.mutf7_encode(n) for n in self.NAMES], r.stdout.splitlines())
        for n in self.NAMES:
            self.assertEqual(rig.mutf7_decode(rig.mutf7_encode(n)), n)

    def test_crlf_and_vsize(self):
        for data in (b'a\nb\r\nc\rd\n', b'', b'x', b'\r\n\r\n', b'\n\n'):
            self.assertEqual(rig.vsize_of(data), len(rig.crlf(data)))
            self.assertNotIn(b'\n', rig.crlf(data).replace(b'\r\n', b''))
        self.assertEqual(rig.crlf(b'a\nb\r\n'), b'a\r\nb\r\n')

    def test_parse_tab(self):
        self.assertEqual(rig.parse_tab('a\tb\n1\t2\n3\t\n'),
                         [{'a': '1', 'b': '2'}, {'a': '3', 'b': ''}])
        self.assertEqual(rig.parse_tab(''), [])

    def test_free_ports(self):
        ports = rig.free_ports(5)
        self.assertEqual(len(set(ports)), 5)
        self.assertTrue(all(1024 <= p < 65536 for p in ports))


class CorpusTest(unittest.TestCase):
    def test_deterministic(self):
        a = corpus.edge_corpus('small')
        b = corpus.edge_corpus('small')
        self.assertEqual([(f.name, [(m.data, m.flags, m.internaldate) for m in f.messages])
                          for f in a.folders],
                         [(f.name, [(m.data, m.flags, m.internaldate) for m in f.messages])
                          for f in b.folders])

    def test_edge_cases_present(self):
        c = corpus.edge_corpus('small')
        flags = [m.flags for m in c.messages]
        for fl in corpus.SYSTEM_FLAGS:
            self.assertIn((fl,), flags)
        self.assertIn(tuple(sorted(corpus.SYSTEM_FLAGS)), flags)
        kws = set(f for fl in flags for f in fl if not f.startswith('\\'))
        self.assertLessEqual({'$Forwarded', '$Junk', 'project-x'}, kws)
        names = [f.name for f in c.folders]
        for n in [('Entwürfe',), ('日本語',), ('Ünïcödé', 'Sub'), ('A&B Co',), ('Empty',),
                  ('Deep', 'L2', 'L3', 'L4', 'L5'), ('Projects.2024',), ('Projects', '2024')]:
            self.assertIn(n, names)
        self.assertEqual(c.folder('Empty').messages, [])
        self.assertFalse(c.folder('Old Stuff').subscribed)
        inbox = c.folder('INBOX').messages
        dups = [m for m in inbox if m.message_id == '<duplicate@corpus>']
        self.assertEqual(len(dups), 2)
        self.assertEqual(dups[0].data, dups[1].data)
        ids = [m.message_id for m in c.messages if m.message_id not in ('', '<duplicate@corpus>')]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(any(b'\r' not in m.data and b'\n' in m.data for m in inbox))   # bare LF
        heads = [m.data.replace(b'\r\n', b'\n').split(b'\n\n')[0] for m in inbox]
        self.assertTrue(any(any(b > 127 for b in h) for h in heads))   # 8-bit headers
        dates = [m.internaldate for m in c.messages]
        self.assertLess(min(dates), 700000000)
        self.assertGreater(max(dates), 2 ** 31)
        self.assertIn('+1345', [m.tz for m in inbox])
        self.assertIn('-0930', [m.tz for m in inbox])
        self.assertLess(c.total_bytes, 1024 * 1024)

    def test_variants(self):
        dot = corpus.edge_corpus('small', sep='.')
        self.assertTrue(all('.' not in lvl for f in dot.folders for lvl in f.name))
        self.assertEqual(dot.vname(('Ünïcödé', 'Sub')), 'INBOX.Ünïcödé.Sub')
        self.assertEqual(dot.vname(('INBOX',)), 'INBOX')
        nosu = corpus.edge_corpus('small', special_use=False)
        names = [f.name[0] for f in nosu.folders]
        for n in ('Sent Items', 'Deleted Items', 'Junk E-mail'):
            self.assertIn(n, names)
        self.assertTrue(all(f.special_use == '' for f in nosu.folders))

    def test_full_has_25mb_message(self):
        full = corpus.edge_corpus('full')
        big = full.folder('Big').messages[0]
        self.assertGreater(len(big.data), 25 * 1000 * 1000)
        self.assertLess(len(big.data), 27 * 1024 * 1024)
        again = corpus.big_message()
        self.assertEqual(hashlib.sha256(big.data).digest(), hashlib.sha256(again).digest())

    def test_simple_messages(self):
        msgs = corpus.simple_messages(50, 'x', size=2000)
        self.assertEqual(len(msgs), 50)
        self.assertEqual(len(set(m.message_id for m in msgs)), 50)
        self.assertTrue(all(1900 < len(m.data) < 2600 for m in msgs))
        again = corpus.simple_messages(50, 'x', size=2000)
        self.assertEqual([m.data for m in msgs], [m.data for m in again])


HERE = os.path.dirname(os.path.abspath(__file__))

# A process that starts a rig, prints its directory and tag, and waits to be killed.
HOLDER = textwrap.dedent('''\
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import rig
    r = rig.Rig(name='holder').start()
    print(r.dir, r._tag, flush=True)
    time.sleep(600)
    ''')


class LifecycleTest(unittest.TestCase):
    def test_sigkill_of_the_owner_stops_its_dovecot(self):
        p = subprocess.Popen([sys.executable, '-c', HOLDER, HERE], stdout=subprocess.PIPE,
                             text=True)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        with p.stdout:
            rig_dir, tag = p.stdout.readline().split()
        self.addCleanup(shutil.rmtree, rig_dir, True)
        self.addCleanup(rig.stop_rig_processes, rig_dir, tag)   # should the watchdog not
        running = rig.rig_processes(rig_dir, tag)
        self.assertTrue([pid for pid in running if rig._comm(pid) == 'dovecot'], running)
        p.kill()
        p.wait()
        left = rig.wait_gone(rig_dir, tag, timeout=20)
        self.assertEqual([(pid, rig._comm(pid)) for pid in left], [])

    def test_modules_of_a_build_the_mail_uid_cannot_enter_are_readable(self):
        # A checkout under /root (0700): the first-login plugin's doveadm runs as the mail uid.
        home = tempfile.mkdtemp(prefix='rig-home-')   # 0700, like /root
        self.addCleanup(shutil.rmtree, home, True)
        mail, doveadm = 'lib95_migrate_plugin.so', 'lib95_doveadm_migrate_plugin.so'
        for rel in ('plugin/mail_plugin/' + mail, 'doveadm_cmd/' + doveadm):
            os.makedirs(os.path.dirname(os.path.join(home, 'build', rel)), exist_ok=True)
            with open(os.path.join(home, 'build', rel), 'wb') as f:
                f.write(b'\x7fELF module ' + rel.encode())
        with rig.Rig(source=False, dest=False, build_dir=os.path.join(home, 'build')) as r:
            for path in (os.path.join(r.mail_modules, mail),
                         os.path.join(r.doveadm_modules, doveadm)):
                read = subprocess.run(['head', '-c', '5', path], capture_output=True,
                                      user=rig.MAIL_UID, group=rig.MAIL_GID, extra_groups=[])
                self.assertEqual((read.returncode, read.stderr), (0, b''), path)
                self.assertEqual(read.stdout, b'\x7fELF ', path)


if __name__ == '__main__':
    unittest.main()
