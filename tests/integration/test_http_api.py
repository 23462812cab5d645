"""`doveadm migrate` and `doveadm migrate status` through the doveadm HTTP API (the way a fleet
runs them per backend): the request format and parameter names, the response rows, the mail
arriving, and --source-password-stdin refused over the server with its reason in the log."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_USAGE, REPORT_KEYS, Rig, corpus, expected_messages, project)

SRC_USER = 'apisrc'
SRC_PW = 'apisrc-pw-Secret'


class HttpApiTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-http')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(5, folders=(('INBOX',), ('Work',)), tag='http')
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('apiuser', 'stdinuser'):
            cls.rig.add_dest_user(u)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def params(self, user, **extra):
        """Our options as the HTTP API names them: the long option in camelCase."""
        p = {'user': user, 'sourceHost': '127.0.0.1', 'sourcePort': str(self.rig.src_imap_port),
             'sourceTls': 'none', 'sourceUser': SRC_USER}
        p.update(extra)
        return p

    def test_migrate_then_status_over_http(self):
        pwfile = self.rig.password_file(SRC_PW)
        resp = self.rig.http_api([['migrate', self.params('apiuser', sourcePasswordFile=pwfile), 't1']])
        self.assertEqual(len(resp), 1, resp)
        kind, rows, tag = resp[0]
        self.assertEqual((kind, tag), ('doveadmResponse', 't1'), resp)
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(sorted(row), sorted(REPORT_KEYS), row)
        self.assertEqual((row['username'], row['result']), ('apiuser', 'ok'), row)
        self.assertEqual(int(row['copied']), self.corpus.total_messages)
        self.assertEqual(project(self.rig.messages('dst', 'apiuser'), CONTENT_KEYS),
                         expected_messages(self.rig, self.corpus))
        self.assertNotIn(SRC_PW, repr(resp))

        resp = self.rig.http_api([['migrateStatus', {'user': 'apiuser'}, 's1'],
                                  ['migrateStatus', {'user': 'stdinuser'}, 's2']])
        self.assertEqual([r[0] for r in resp], ['doveadmResponse', 'doveadmResponse'], resp)
        st = resp[0][1][0]
        self.assertEqual((st['username'], st['state'], st['trigger']), ('apiuser', 'ok', 'doveadm'))
        self.assertEqual(int(st['copied']), self.corpus.total_messages)
        self.assertEqual(resp[1][1][0]['state'], 'never')

        # a stop with nothing running answers, and says so
        resp = self.rig.http_api([['migrateStop', {'user': 'apiuser'}, 'x1']])
        self.assertEqual(resp[0][0], 'doveadmResponse', resp)
        self.assertEqual(resp[0][1][0]['result'], 'not_running')

    def test_password_on_stdin_is_refused_over_the_server(self):
        resp = self.rig.http_api([['migrate', self.params('stdinuser', sourcePasswordStdin=True), 't2']])
        self.assertEqual(resp[0][0], 'error', resp)
        self.assertEqual(resp[0][1].get('exitCode'), EX_USAGE, resp)
        log = self.rig.dst.log_when('--source-password-stdin works only on the doveadm command line')
        self.assertIn('--source-password-stdin works only on the doveadm command line', log)
        self.assertIn('--source-password-file', log)
        self.assertEqual(self.rig.messages('dst', 'stdinuser'), [])


if __name__ == '__main__':
    unittest.main()
