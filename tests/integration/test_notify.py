"""Mail notifications (doveadm_cmd/notify.h) as an admin gets them: the summary of
`doveadm migrate batch --notify ADDRESS`, sent through the server's submission_host (to a small
SMTP sink on loopback in this test) or its sendmail_path, and what happens when the submission
server is down."""

import email
import email.header
import email.policy
import os
import socket
import socketserver
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import Rig, corpus, read_status, wait_for  # noqa: E402

SRC_USER = 'notesrc'
SRC_PW = 'notesrc-pw-Secret'


class SmtpSink(socketserver.ThreadingTCPServer):
    """Accepts every message and keeps (mail_from, [rcpt], data); refuses RCPT to refused@*."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), SmtpHandler)
        self.messages = []
        self.lock = threading.Lock()


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b'\r\n')
        self.wfile.flush()

    def handle(self):
        self.reply('220 sink ESMTP')
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode('utf-8', 'replace').strip()
            verb = cmd.split(' ', 1)[0].upper()
            if verb in ('EHLO', 'HELO'):
                self.reply('250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8' if verb == 'EHLO' else '250 sink')
            elif verb == 'MAIL':
                mail_from, rcpts = cmd[10:].strip(), []
                self.reply('250 ok')
            elif verb == 'RCPT':
                addr = cmd[8:].strip()
                if addr.lower().startswith('<refused@'):
                    self.reply('550 5.1.1 no such user')
                else:
                    rcpts.append(addr)
                    self.reply('250 ok')
            elif verb == 'DATA':
                self.reply('354 go ahead')
                data = b''
                while not data.endswith(b'\r\n.\r\n'):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                with self.server.lock:
                    self.server.messages.append((mail_from, rcpts, data[:-5].replace(b'\r\n..', b'\r\n.')))
                self.reply('250 queued')
            elif verb == 'QUIT':
                self.reply('221 bye')
                return
            elif verb in ('RSET', 'NOOP'):
                self.reply('250 ok')
            else:
                self.reply('502 not implemented')


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NotifyTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink()
        cls.thread = threading.Thread(target=cls.sink.serve_forever, daemon=True)
        cls.thread.start()
        cls.rig = Rig(name='mig-notify')
        cls.rig.__enter__()
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, corpus.simple_corpus(3, tag='notify'))
        cls.rig.add_dest_user(SRC_USER)
        cls.rig.add_dest_user('startnote')

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)
        cls.sink.shutdown()
        cls.sink.server_close()

    def batch(self, *extra, name='notify-pairs.txt'):
        path = os.path.join(self.rig.dir, name)
        with open(path, 'w') as f:
            f.write('%s %s\n' % (SRC_USER, SRC_PW))
        os.chmod(path, 0o600)
        argv = self.rig.doveadm_argv('migrate', 'batch', '-H', '127.0.0.1', '-P',
                                     str(self.rig.src_imap_port), '-T', 'none', *extra, path)
        return subprocess.run(argv, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    def test_summary_through_submission_host(self):
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % self.sink.server_address[1])
        before = len(self.sink.messages)
        r = self.batch('--notify', 'admin@example.org')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn('cannot mail', r.stderr)
        self.assertEqual(len(self.sink.messages), before + 1, r.stderr)
        mail_from, rcpts, data = self.sink.messages[-1]
        self.assertEqual(rcpts, ['<admin@example.org>'])
        self.assertRegex(mail_from, r'^<postmaster@')
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertIn('doveadm migrate batch', str(msg['Subject']))
        self.assertIn('admin@example.org', str(msg['To']))
        self.assertEqual(msg['Auto-Submitted'], 'auto-generated')
        self.assertIsNotNone(msg['Date'])
        body = msg.get_content()
        self.assertIn(SRC_USER, body)
        self.assertIn('ok', body)
        self.assertNotIn(SRC_PW, data.decode('utf-8', 'replace'))

    def test_start_mails_the_result_of_its_background_run(self):
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % self.sink.server_address[1])
        before = len(self.sink.messages)
        r = self.rig.doveadm('migrate', 'start', '-u', 'startnote', '-H', '127.0.0.1', '-P',
                             str(self.rig.src_imap_port), '-T', 'none', '-U', SRC_USER, '-W',
                             '--notify', 'panel-owner@example.org', input=SRC_PW + '\n')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(wait_for(lambda: len(self.sink.messages) > before, timeout=120),
                        self.rig.state_path('startnote', 'login.log'))
        self.assertEqual(read_status(self.rig, 'startnote')['state'], 'ok')
        _, rcpts, data = self.sink.messages[-1]
        self.assertEqual(rcpts, ['<panel-owner@example.org>'])
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(str(msg['Subject']), 'Migration of startnote: ok')
        body = msg.get_content()
        self.assertIn('Copied:      3 messages', body)
        self.assertNotIn(SRC_PW, data.decode('utf-8', 'replace'))

    def test_non_ascii_subject_is_encoded(self):
        """The subject names the batch file; a long non-ASCII name arrives intact (RFC 2047)."""
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % self.sink.server_address[1])
        name = 'zákazníci-přesun-%s.txt' % ('ěščřžýáíé' * 6)
        before = len(self.sink.messages)
        r = self.batch('--notify', 'admin@example.org', name=name)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.sink.messages), before + 1, r.stderr)
        data = self.sink.messages[-1][2]
        headers = data.split(b'\r\n\r\n', 1)[0]
        self.assertTrue(all(len(l) <= 998 for l in headers.split(b'\r\n')))
        self.assertTrue(headers.isascii(), 'raw 8-bit in the header')
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertIn(name, str(msg['Subject']))

    def test_long_ascii_subject_is_folded(self):
        """A long plain-ASCII subject is folded at its spaces (lines of at most 78 characters
        where the words allow); a batch file path too long for any line is sent encoded."""
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % self.sink.server_address[1])
        deep = os.path.join(*(['customer-import-' + 'x' * 200] * 5))
        os.makedirs(os.path.join(self.rig.dir, deep), exist_ok=True)
        for name in ('customers-moving-from-the-old-provider-in-november-2026-batch-one.txt',
                     os.path.join(deep, 'customers.txt')):
            before = len(self.sink.messages)
            r = self.batch('--notify', 'admin@example.org', name=name)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(len(self.sink.messages), before + 1, r.stderr)
            data = self.sink.messages[-1][2]
            headers = data.split(b'\r\n\r\n', 1)[0].split(b'\r\n')
            self.assertTrue(all(len(l) <= 998 for l in headers), [len(l) for l in headers])
            start = next(i for i, l in enumerate(headers) if l.startswith(b'Subject: '))
            end = start + 1
            while end < len(headers) and headers[end][:1] in (b' ', b'\t'):
                end += 1
            subject_lines = headers[start:end]
            self.assertGreater(len(subject_lines), 1, subject_lines)
            path = os.path.join(self.rig.dir, name)
            for line in subject_lines:
                # only a line that holds the path may be longer than 78 characters
                self.assertTrue(len(line) <= 78 or path.encode()[-20:] in line
                                or b'=?UTF-8?B?' in line, subject_lines)
            msg = email.message_from_bytes(data, policy=email.policy.default)
            self.assertIn('doveadm migrate batch %s: ' % path, str(msg['Subject']))
            self.assertNotIn('\n', str(msg['Subject']))

    def test_refused_recipient_and_dead_submission_host(self):
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % self.sink.server_address[1])
        r = self.batch('--notify', 'refused@example.org')
        self.assertEqual(r.returncode, 0, 'a failed notification does not fail the batch\n' + r.stderr)
        self.assertIn('cannot mail the summary to refused@example.org', r.stderr)
        self.assertIn('refused', r.stderr)
        port = closed_port()
        self.rig.set_dest_extra_conf('submission_host = 127.0.0.1:%d\n' % port)
        r = self.batch('--notify', 'admin@example.org')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('cannot mail the summary to admin@example.org', r.stderr)
        self.assertIn('submission_host=127.0.0.1:%d' % port, r.stderr)

    def test_summary_through_sendmail_path(self):
        out = os.path.join(self.rig.dir, 'sendmail.out')
        script = os.path.join(self.rig.dir, 'fake-sendmail')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho "ARGS: $*" > %s\ncat >> %s\n' % (out, out))
        os.chmod(script, 0o755)
        self.rig.set_dest_extra_conf('sendmail_path = %s\n' % script)
        r = self.batch('--notify', 'admin@example.org')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn('cannot mail', r.stderr)
        with open(out, encoding='utf-8', errors='replace') as f:
            text = f.read()
        self.assertIn('admin@example.org', text.splitlines()[0])
        self.assertIn('Subject: doveadm migrate batch', text)
        self.assertIn(SRC_USER, text)
        self.assertNotIn(SRC_PW, text)


if __name__ == '__main__':
    unittest.main()
