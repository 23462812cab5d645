"""OAuth2 logins against a real Dovecot: the source authenticates XOAUTH2/OAUTHBEARER through
Dovecot's oauth2 passdb, which asks a small token-introspection server (started here) whether the
token is active and whose it is. A token from a file (-O), from a command (-X), and a command
whose first token the server refuses as expired (the run asks the command again and goes on),
and a token file the server refuses; over XOAUTH2 and, with a source that offers only that,
OAUTHBEARER.
The mail arrives as at the source, and the token string appears in no output, no Dovecot log,
no state file, no wire trace and not in the running doveadm's command line."""

import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_NOPERM, Rig, corpus, expected_messages, migrate_argv, project,
    run_watching_argv, secret_leaks, src_snapshot)
from rig import LOCALHOST, MAIL_GID, MAIL_UID, V24  # noqa: E402

# Distinctive enough to grep for; a real access token looks like these (RFC 6750 b64token).
GOOD_TOKEN = 'ya29.Oauth2-Good-Token-4711-Qx9'
EXPIRED_TOKEN = 'ya29.Oauth2-Expired-Token-0815-Zk3'
SRC_PASSWORD = 'unused-plain-password-31'   # the source's passwd-file needs one


class TokenServer:
    """RFC 7662 token introspection on 127.0.0.1: POST token=... -> {"active": true, "username":
    ...} for a known token, {"active": false} otherwise. Records the tokens it was asked about."""

    def __init__(self):
        self.tokens = {}     # token -> username
        self.asked = []      # tokens, in the order Dovecot asked
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                token = urllib.parse.parse_qs(body.decode()).get('token', [''])[0]
                auth = self.headers.get('Authorization') or ''
                if not token and auth.lower().startswith('bearer '):
                    token = auth[7:]
                server.asked.append(token)
                user = server.tokens.get(token)
                reply = {'active': True, 'username': user} if user else {'active': False}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def oauth2_conf(rig_dir, port, mechanisms):
    """The source's OAuth2 token check for `mechanisms` only (2.3: an oauth2 passdb with a
    .conf.ext file; 2.4: the oauth2 { } settings); the passwd-file passdb still serves
    PLAIN/LOGIN."""
    settings = (('introspection_mode', 'post'),
                ('introspection_url', 'http://%s:%d/introspect' % (LOCALHOST, port)),
                ('force_introspection', 'yes'), ('username_attribute', 'username'),
                ('active_attribute', 'active'), ('active_value', 'true'))
    if V24:
        # 2.4's mechanisms verify the token themselves (no passdb) with the oauth2 { } settings.
        return ('auth_mechanisms = plain login %s\n'
                'oauth2 {\n%s}\n' % (mechanisms, ''.join('  %s = %s\n' % kv for kv in settings)))
    ext = os.path.join(rig_dir, 'oauth2.conf.ext')
    with open(ext, 'w') as f:
        f.write(''.join('%s = %s\n' % kv for kv in settings))
    os.chmod(ext, 0o644)
    return ('auth_mechanisms = $auth_mechanisms %s\n'
            'passdb {\n'
            '  driver = oauth2\n'
            '  mechanisms = %s\n'
            '  args = %s\n'
            '}\n' % (mechanisms, mechanisms, ext))


class OAuth2Test(unittest.TestCase):
    """The source offers both mechanisms (as Gmail and Office 365 do): the run uses XOAUTH2."""
    maxDiff = None
    MECHANISMS = 'xoauth2 oauthbearer'
    USED = b'AUTHENTICATE XOAUTH2'
    REFUSAL = '401'   # what Dovecot's XOAUTH2 says for a refused token: {"status":"401",...}

    @classmethod
    def setUpClass(cls):
        cls.tokens = TokenServer()
        # The passdb's args file must exist before the rig (and its temp dir) starts Dovecot.
        cls.conf_dir = tempfile.mkdtemp(prefix='migrate-oauth2-conf-')
        os.chmod(cls.conf_dir, 0o755)
        cls.rig = Rig(name='mig-oauth2', src_extra_conf=oauth2_conf(cls.conf_dir, cls.tokens.port,
                                                                 cls.MECHANISMS))
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(4, folders=(('INBOX',), ('Archive', '2025')), tag='oa')
        cls.users = ('ofile', 'ocmd', 'oexpired', 'orefused')
        for u in cls.users:
            cls.rig.add_source_user(u, SRC_PASSWORD)
            cls.rig.load_source(u, cls.corpus)
            cls.rig.add_dest_user(u)
            cls.tokens.tokens[GOOD_TOKEN + '-' + u] = u
        cls.work = os.path.join(cls.rig.dir, 'oauth2')
        os.mkdir(cls.work, 0o700)
        os.chown(cls.work, MAIL_UID, MAIL_GID)   # token files and scripts run as the mail user

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)
        cls.tokens.close()
        shutil.rmtree(cls.conf_dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def private_file(self, name, text, mode=0o600):
        path = os.path.join(self.work, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        os.chown(path, MAIL_UID, MAIL_GID)
        return path

    def trace_dir(self, name):
        d = os.path.join(self.work, name)
        os.mkdir(d, 0o700)
        os.chown(d, MAIL_UID, MAIL_GID)
        return d

    def run_oauth2(self, user, *extra):
        """`doveadm migrate` with IMAPS + the rig CA, a wire trace, and -v; returns (run, argv
        as the process showed it, trace dir)."""
        traces = self.trace_dir('rawlog-' + user)
        argv = migrate_argv(self.rig, user, '--rawlog', traces, *extra, tls='imaps', verbose=True)
        run, cmdline = run_watching_argv(argv, '--rawlog')
        return run, cmdline, traces

    def assert_migrated(self, run, user):
        self.assertEqual((run.rc, run.row.get('result')), (0, 'ok'),
                         run.describe() + self.rig.logs_tail(60))
        self.assertEqual(project(self.rig.messages('dst', user), CONTENT_KEYS),
                         expected_messages(self.rig, self.corpus))
        self.assertEqual(int(run.row['copied']), len(expected_messages(self.rig, self.corpus)))

    def assert_no_leak(self, run, cmdline, traces, user, *secrets):
        self.assertTrue(cmdline, 'never saw the running doveadm\'s command line')
        for s in secrets:
            self.assertEqual(secret_leaks(self.rig, s, user, run=run, cmdline=cmdline,
                                          dirs=(traces,)), [], s)
        # the trace shows the login, with the token redacted
        with open(sorted(os.path.join(traces, p) for p in os.listdir(traces)
                         if p.endswith('.out'))[0], 'rb') as f:
            out = f.read()
        self.assertIn(self.USED, out)
        self.assertIn(b'<redacted ', out)

    # ------------------------------------------------------------------ tests

    def test_token_file(self):
        u = 'ofile'
        token = GOOD_TOKEN + '-' + u
        path = self.private_file('token-' + u, token + '\n')
        s0 = src_snapshot(self.rig, u)
        run, cmdline, traces = self.run_oauth2(u, '--source-oauth2-token-file', path)
        self.assert_migrated(run, u)
        self.assertIn(token, self.tokens.asked)   # Dovecot really asked the token server
        self.assert_no_leak(run, cmdline, traces, u, token)
        self.assertEqual(src_snapshot(self.rig, u), s0)

    def test_token_command(self):
        u = 'ocmd'
        token = GOOD_TOKEN + '-' + u
        path = self.private_file('token-' + u, token)
        env_seen = os.path.join(self.work, 'env-' + u)
        # The command line shows up in messages and ps: it names a file, never the token. It
        # records what it was told, as a script serving -A would use it.
        script = self.private_file('print-token-' + u, (
            '#!/bin/sh\n'
            'echo "$MIGRATE_SOURCE_USER $MIGRATE_SOURCE_HOST $MIGRATE_LOCAL_USER $(id -u)" > "%s"\n'
            'cat "%s"\n') % (env_seen, path), 0o700)
        run, cmdline, traces = self.run_oauth2(u, '--source-oauth2-token-command', script)
        self.assert_migrated(run, u)
        with open(env_seen) as f:
            self.assertEqual(f.read().split(), [u, LOCALHOST, u, str(MAIL_UID)])
        self.assertIn(token, self.tokens.asked)
        self.assertIn(script.encode(), b'\0'.join(cmdline))
        self.assert_no_leak(run, cmdline, traces, u, token)

    def test_expired_token_from_the_command_is_replaced(self):
        """The command's first token is refused (the token server calls it inactive, as for an
        expired one); the run asks the command again and logs in with the second."""
        u = 'oexpired'
        good = GOOD_TOKEN + '-' + u
        counter = os.path.join(self.work, 'count-' + u)
        expired = self.private_file('expired-' + u, EXPIRED_TOKEN)
        fresh = self.private_file('fresh-' + u, good)
        script = self.private_file('mint-' + u, (
            '#!/bin/sh\n'
            'n=$(cat "{c}" 2>/dev/null || echo 0)\n'
            'n=$((n + 1))\n'
            'echo $n > "{c}"\n'
            'if [ $n -eq 1 ]; then cat "{e}"; else cat "{f}"; fi\n').format(
                c=counter, e=expired, f=fresh), 0o700)
        asked_before = len(self.tokens.asked)
        run, cmdline, traces = self.run_oauth2(u, '--source-oauth2-token-command', script)
        self.assert_migrated(run, u)
        with open(counter) as f:
            self.assertEqual(f.read().strip(), '2', 'the token command ran once more')
        asked = self.tokens.asked[asked_before:]
        self.assertEqual(asked[:2], [EXPIRED_TOKEN, good], asked)
        self.assert_no_leak(run, cmdline, traces, u, good, EXPIRED_TOKEN)

    def test_refused_token_file_fails_with_auth_exit_code(self):
        """A token file that still holds the refused token: the user fails (exit 77) with the
        server's words, and the token is nowhere."""
        u = 'orefused'
        path = self.private_file('token-' + u, EXPIRED_TOKEN + '\n')
        run, cmdline, traces = self.run_oauth2(u, '--source-oauth2-token-file', path)
        self.assertEqual(run.rc, EX_NOPERM, run.describe())
        self.assertEqual(run.row['result'], 'failed', run.describe())
        self.assertIn('OAuth2 login', run.row['error'])
        self.assertIn(self.REFUSAL, run.row['error'])
        self.assertEqual(self.rig.messages('dst', u), [])
        self.assertEqual(secret_leaks(self.rig, EXPIRED_TOKEN, u, run=run, cmdline=cmdline,
                                      dirs=(traces,)), [])


class OAuthBearerTest(OAuth2Test):
    """The source offers only OAUTHBEARER (RFC 7628): the same cases over the other mechanism,
    whose refusal is {"status":"invalid_token"}."""
    MECHANISMS = 'oauthbearer'
    USED = b'AUTHENTICATE OAUTHBEARER'
    REFUSAL = 'invalid_token'


if __name__ == '__main__':
    unittest.main()
