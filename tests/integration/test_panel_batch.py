"""A batch from the request body through the real doveadm HTTP API (issue 14): `migrateCheck`
with the batch text (one row per line, `line N: ...` for a good line, an unknown user, a wrong
password and a line that does not parse), `migrateBatch` with background=true (an id at once,
`migrateBatchStatus` until done, the mail arrived, the stored input removed), a provider's
example lines verbatim, pause in the middle of a slow batch and resume (every message exactly
once), and `migrateBatchLog` (a tar with the per-mailbox logs and no password)."""

import base64
import io
import json
import os
import sys
import tarfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, Rig, corpus, expected_messages, project, secret_leaks)

from rig import settings_conf  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'providers')
NAMES = ('imap.example.com', 'server-IMAP-remoto', 'imap.domena.tld')
# Source accounts and their (distinctive) passwords; the WEDOS example's own two as well.
SRC = {'pb-ok': 'PbOk-Pw-7351', 'pb-bad': 'PbBad-Pw-1846', 'pb-slow1': 'PbSlow1-Pw-0921',
       'pb-slow2': 'PbSlow2-Pw-5532', 'pb-two': 'PbTwo-Pw-6640',
       'schranka': 'heslo', 'mailbox': 'password'}
WRONG = 'PbWrong-Pw-9090'


class PanelBatchTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        # A userdb that knows only its users, so that an unknown user is one.
        cls.rig = Rig(name='mig-pbatch', src_names=NAMES, dst_remote_passdb=False, dst_any_user=False)
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(4, folders=(('INBOX',), ('Work',)), tag='pbatch')
        cls.slow_corpus = corpus.simple_corpus(40, folders=(('INBOX',), ('Work',)), tag='pbslow',
                                               size=3000)
        for user, pw in SRC.items():
            cls.rig.add_source_user(user, pw)
            cls.rig.load_source(user, cls.slow_corpus if 'slow' in user else cls.corpus)
        for user in SRC:
            cls.rig.add_dest_user(user)
        cls.batch_root = os.path.join(cls.rig.dir, 'batches')
        cls.rig.set_dest_extra_conf(settings_conf({'migrate_batch_dir': cls.batch_root}))

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    # ------------------------------------------------------------------ helpers

    def plain(self, **extra):
        p = {'sourceHost': '127.0.0.1', 'sourcePort': str(self.rig.src_imap_port), 'sourceTls': 'none'}
        p.update(extra)
        return p

    def call(self, command, params, tag='t'):
        resp = self.rig.http_api([[command, params, tag]])
        self.assertEqual(len(resp), 1, resp)
        return resp[0]

    def rows(self, command, params):
        kind, rows, _ = self.call(command, params)
        self.assertEqual(kind, 'doveadmResponse', (command, rows, self.rig.dst.log_tail()))
        return rows

    def status(self, batch_id):
        return self.rows('migrateBatchStatus', {'batchId': batch_id})

    def wait_state(self, batch_id, states, timeout=120):
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline:
            rows = self.status(batch_id)
            if rows and rows[0]['batch_state'] in states:
                return rows
            time.sleep(0.3)
        self.fail('batch %s never reached %s: %s\n%s' % (batch_id, states, rows, self.runner_log(batch_id)))

    def runner_log(self, batch_id):
        try:
            with open(os.path.join(self.batch_root, batch_id, 'runner.log')) as f:
                return f.read()
        except OSError as e:
            return str(e)

    def start(self, text, **params):
        rows = self.rows('migrateBatch', dict(params, input=text, background=True))
        self.assertTrue(rows and rows[0].get('batch_id'), rows)
        return rows[0]['batch_id'], rows

    def forget(self, user):
        import shutil
        shutil.rmtree(self.rig.dst_home(user), ignore_errors=True)

    def assert_migrated(self, user, c=None):
        self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                         expected_messages(self.rig, c or self.corpus), user)

    # ------------------------------------------------------------------ tests

    def test_check_gives_one_row_per_line(self):
        text = ('pb-ok %s\nnobody-here Whatever-1\npb-bad %s\nlonely-login-without-password\n' %
                (SRC['pb-ok'], WRONG))
        rows = self.rows('migrateCheck', self.plain(input=text))
        by_line = {int(r['line']): r for r in rows}
        self.assertEqual(sorted(by_line), [1, 2, 3, 4], rows)
        self.assertEqual(by_line[1]['result'], 'ok', rows)
        self.assertTrue(by_line[1]['message'].startswith('line 1 pb-ok: ok, 8 messages'), rows)
        self.assertEqual((by_line[2]['result'], by_line[2]['user']), ('invalid', 'nobody-here'))
        self.assertIn('line 2 nobody-here: invalid: user nobody-here not found in userdb',
                      by_line[2]['message'])
        self.assertEqual(by_line[3]['result'], 'failed')
        self.assertIn("line 3 pb-bad: failed: login as 'pb-bad' failed", by_line[3]['message'])
        self.assertEqual(by_line[4]['result'], 'invalid')
        self.assertTrue(by_line[4]['message'].startswith('line 4: invalid: '), by_line[4])
        # a check copies nothing, and no password is anywhere
        self.assertEqual(self.rig.messages('dst', 'pb-ok'), [])
        for user, pw in (('pb-ok', SRC['pb-ok']), ('pb-bad', WRONG)):
            self.assertEqual(secret_leaks(self.rig, pw, user), [], pw)
            self.assertNotIn(pw, repr(rows))

    def test_bad_input_starts_nothing(self):
        before = os.listdir(self.batch_root) if os.path.isdir(self.batch_root) else []
        rows = self.rows('migrateBatch', self.plain(input='pb-two %s\nlonely\n' % SRC['pb-two'],
                                                    background=True))
        self.assertEqual([(int(r['line']), r['result']) for r in rows], [(2, 'invalid')], rows)
        self.assertNotIn('batch_id', rows[0])
        self.assertTrue(rows[0]['message'].startswith('line 2: '), rows)
        self.assertEqual(self.rig.messages('dst', 'pb-two'), [])
        self.assertEqual(os.listdir(self.batch_root) if os.path.isdir(self.batch_root) else [], before)

    def test_background_batch_of_a_provider_example_then_its_log(self):
        with open(os.path.join(FIXTURES, 'wedos-pairs.txt')) as f:
            text = f.read()       # verbatim: "schranka@domena.tld heslo" ...
        users = ('schranka', 'mailbox')
        for u in users:
            self.forget(u)
        batch_id, started = self.start(text, sourceHost='imap.domena.tld', caFile=self.rig.ca_file)
        self.assertEqual([(int(r['line']), r['user'], r['state']) for r in started],
                         [(1, 'schranka@domena.tld', 'running'), (2, 'mailbox@domain.tld', 'running')])
        rows = self.wait_state(batch_id, ('done', 'failed'))
        self.assertEqual([(r['batch_state'], r['state'], r['result']) for r in rows],
                         [('done', 'done', 'ok')] * 2, rows)
        self.assertEqual([int(r['copied']) for r in rows], [8, 8])
        for u in users:
            self.assert_migrated(u)
        # the stored input (passwords) is gone once the batch is done
        bdir = os.path.join(self.batch_root, batch_id)
        self.assertFalse(os.path.exists(os.path.join(bdir, 'input')))
        # listed among the batches with its counts
        listed = {r['batch_id']: r for r in self.rows('migrateBatchStatus', {})}
        self.assertEqual((listed[batch_id]['state'], int(listed[batch_id]['mailboxes']),
                          int(listed[batch_id]['ok'])), ('done', 2, 2))

        (row,) = self.rows('migrateBatchLog', {'batchId': batch_id})
        data = base64.b64decode(row['tar_base64'])
        self.assertEqual(len(data), int(row['bytes']))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            names = tar.getnames()
            contents = {n: tar.extractfile(n).read() for n in names}
        prefix = batch_id + '/'
        self.assertIn(prefix + 'report/report.json', names)
        self.assertIn(prefix + 'report/schranka@domena.tld.log', names)
        self.assertIn(prefix + 'report/mailbox@domain.tld.log', names)
        self.assertNotIn(prefix + 'input', names)
        for n, body in contents.items():
            self.assertNotIn(b'heslo', body, n)
        # one mailbox's log as text
        (log,) = self.rows('migrateBatchLog', {'batchId': batch_id, 'user': 'schranka@domena.tld'})
        self.assertIn(' migrate -u schranka@domena.tld ', log['log'])

    def test_pause_in_the_middle_then_resume_copies_everything_once(self):
        users = ('pb-slow1', 'pb-slow2')
        text = ''.join('%s %s\n' % (u, SRC[u]) for u in users)
        # about 120 KB each at 20 KB/s, one at a time: the pause comes while pb-slow1 copies
        batch_id, _ = self.start(text, **self.plain(maxRate='20K', jobs='1'))
        # the running mailbox's row has its live counts (from its run status) before it ends
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = self.status(batch_id)
            if rows[0]['state'] != 'waiting' and int(rows[0]['copied']) > 0:
                break
            time.sleep(0.2)
        self.assertEqual((rows[0]['state'], rows[0]['folder'] != ''), ('running', True), rows)
        (answer,) = self.rows('migrateBatchPause', {'batchId': batch_id})
        self.assertEqual((answer['result'], answer['state']), ('paused', 'paused'), answer)
        rows = self.status(batch_id)
        self.assertEqual([r['batch_state'] for r in rows], ['paused'] * 2)
        self.assertEqual([r['state'] for r in rows], ['stopped', 'waiting'], rows)
        copied = len(self.rig.messages('dst', 'pb-slow1', content=False))
        self.assertLess(copied, self.slow_corpus.total_messages)
        self.assertEqual(self.rig.messages('dst', 'pb-slow2', content=False), [])
        # the input stays while the batch is not done (the resume needs it)
        self.assertTrue(os.path.exists(os.path.join(self.batch_root, batch_id, 'input')))
        # a second pause: nothing runs
        (again,) = self.rows('migrateBatchPause', {'batchId': batch_id})
        self.assertEqual(again['result'], 'not_running')

        (answer,) = self.rows('migrateBatchResume', {'batchId': batch_id})
        self.assertEqual(answer['result'], 'resumed', answer)
        rows = self.wait_state(batch_id, ('done', 'failed'), timeout=180)
        self.assertEqual([(r['state'], r['result']) for r in rows], [('done', 'ok')] * 2, rows)
        for u in users:
            self.assert_migrated(u, self.slow_corpus)
        (answer,) = self.rows('migrateBatchResume', {'batchId': batch_id})
        self.assertEqual(answer['result'], 'done')
        for u in users:
            self.assertEqual(secret_leaks(self.rig, SRC[u], u,
                                          dirs=[os.path.join(self.batch_root, batch_id)]), [])

    def test_command_line_background_and_status(self):
        path = os.path.join(self.rig.dir, 'two.txt')
        with open(path, 'w') as f:
            f.write('pb-two %s\n' % SRC['pb-two'])
        os.chmod(path, 0o600)
        r = self.rig.doveadm('-f', 'json', 'migrate', 'batch', '--background', '-H', '127.0.0.1', '-P',
                             str(self.rig.src_imap_port), '-T', 'none', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        (row,) = json.loads(r.stdout)
        self.assertEqual((row['user'], row['state']), ('pb-two', 'running'))
        rows = self.wait_state(row['batch_id'], ('done', 'failed'))
        self.assertEqual((rows[0]['state'], rows[0]['result']), ('done', 'ok'), rows)
        self.assert_migrated('pb-two')
        r = self.rig.doveadm('migrate', 'batch', 'status', row['batch_id'])
        self.assertRegex(r.stdout, r'(?m)^batch_id +batch_state +line +user +state +result')
        self.assertEqual(r.returncode, 0, r.stderr)
        # the plain run and the background start refuse --check together
        r = self.rig.doveadm('migrate', 'batch', '--background', '--check', path)
        self.assertEqual(r.returncode, 64, r.stderr)

    def test_command_line_check_of_standard_input(self):
        text = 'pb-ok %s\npb-bad %s\n' % (SRC['pb-ok'], WRONG)
        r = self.rig.doveadm('-f', 'json', 'migrate', 'check', '--input', '-', '-H', '127.0.0.1', '-P',
                             str(self.rig.src_imap_port), '-T', 'none', input=text)
        self.assertEqual(r.returncode, 77, r.stderr)   # the wrong password's code, as batch --check
        rows = {r['line']: r for r in json.loads(r.stdout)}
        self.assertEqual((rows[1]['result'], rows[2]['result']), ('ok', 'failed'), rows)
        self.assertIn("line 2 pb-bad: failed: login as 'pb-bad' failed", rows[2]['message'])
        self.assertNotIn(WRONG, r.stdout + r.stderr)

    def test_unknown_batch_ids(self):
        kind, err, _ = self.call('migrateBatchStatus', {'batchId': '../../etc'})
        self.assertEqual((kind, err.get('exitCode')), ('error', 64), err)
        kind, err, _ = self.call('migrateBatchPause', {'batchId': '20000101-000000-abcdef'})
        self.assertEqual((kind, err.get('exitCode')), ('error', 66), err)


if __name__ == '__main__':
    unittest.main()
