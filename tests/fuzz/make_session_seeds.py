#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_session (tests/fuzz/corpus/session/): realistic server
transcripts (Dovecot, Gmail, Exchange/Office 365, Courier) as the fuzz target reads them: one
control byte, then the server's turns separated by FF 00 FF, tags numbered as the session
numbers its commands (A1, A2, ...). Run it from anywhere; it overwrites the seeds it writes and
leaves other files (reproducers) alone.

    python3 tests/fuzz/make_session_seeds.py
"""

import base64
import os
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'session')
MARK = b'\xff\x00\xff'

BODY_CRLF = (b'From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n'
             b'Message-ID: <1@example.org>\r\n\r\nHello\r\n')
BODY_LF = b'From: c@example.org\nSubject: bare LF\nMessage-ID: <2@example.org>\n\nCourier style\n'

# control bits (see fuzz_session.cpp)
OAUTH, STARTTLS, COMPRESS, CLOSE, MASTER = 1, 2, 4, 8, 16


def lit(b):
    return b'{%d}\r\n' % len(b) + b


class Transcript:
    def __init__(self, control):
        self.control = control
        self.tag = 0
        self.turns = []
        self.deflate = None

    def t(self):
        """The next command's tag."""
        self.tag += 1
        return b'A%d' % self.tag

    def say(self, data):
        """One turn of the server: what it sends while the client waits."""
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.turns.append(data)

    def write(self, name):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(bytes([self.control]) + MARK.join(self.turns))


def mailbox_session(s, *, sep=b'/', prefix=b'', lists, body=BODY_CRLF, fetch_extra=b'',
                    examine_extra=b''):
    """NAMESPACE .. LOGOUT, as the fuzz target drives them. lists: (attributes, quoted name)."""
    s.say(b'* NAMESPACE (("' + prefix + b'" "' + sep + b'")) NIL NIL\r\n' + s.t() +
          b' OK Namespace completed.\r\n')
    s.say(b''.join(b'* LIST (' + a + b') "' + sep + b'" ' + n + b'\r\n' for a, n in lists) + s.t() +
          b' OK List completed.\r\n')
    s.say(b'* LSUB () "' + sep + b'" INBOX\r\n' + s.t() + b' OK Lsub completed.\r\n')
    names = [b'INBOX', b'Sent'] + [n for _, n in lists]
    status = b''.join(b'* STATUS ' + n + b' (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 1700000000 '
                      b'HIGHESTMODSEQ 5)\r\n' for n in names)
    s.say(status + b''.join(s.t() + b' OK Status completed.\r\n' for _ in names))
    s.say(b'* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n'
          b'* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n* 2 EXISTS\r\n* 0 RECENT\r\n'
          b'* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* OK [UIDNEXT 3] Predicted next UID\r\n' +
          examine_extra + s.t() + b' OK [READ-ONLY] Examine completed.\r\n')
    s.say(b'* 2 FETCH (UID 2 FLAGS (\\Seen $Forwarded) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
          b'RFC822.SIZE ' + str(len(body)).encode() + fetch_extra + b' BODY[] ' + lit(body) +
          b')\r\n' + s.t() + b' OK Fetch completed.\r\n')
    s.say(b'* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 80 BODY[HEADER.FIELDS (MESSAGE-ID)] ' +
          lit(b'Message-ID: <1@example.org>\r\n\r\n') + b')\r\n'
          b'* 3 FETCH (UID 5 FLAGS (\\Seen) RFC822.SIZE 90 BODY[HEADER.FIELDS (MESSAGE-ID)] ' +
          lit(b'\r\n') + b')\r\n' + s.t() + b' OK Fetch completed.\r\n')
    s.say(b'* BYE Logging out\r\n' + s.t() + b' OK Logout completed.\r\n')


DOVECOT_PRE = (b'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN '
               b'AUTH=XOAUTH2 AUTH=OAUTHBEARER')
DOVECOT_POST = (b'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT THREAD=REFERENCES MULTIAPPEND '
                b'UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC '
                b'ESEARCH SPECIAL-USE BINARY MOVE LIST-STATUS LITERAL+ COMPRESS=DEFLATE')
DOVECOT_LISTS = [(b'\\HasNoChildren', b'INBOX'), (b'\\HasNoChildren \\Sent', b'Sent'),
                 (b'\\HasChildren', b'Archive'), (b'\\HasNoChildren', b'"Archive/2025 &AOQ-"')]
GMAIL = (b'IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR '
         b'AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER')
GMAIL_POST = (b'IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS '
              b'COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS '
              b'LITERAL- SPECIAL-USE APPENDLIMIT=35651584')
EXCHANGE = (b'IMAP4 IMAP4rev1 AUTH=NTLM AUTH=GSSAPI SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE '
            b'NAMESPACE LITERAL+')
COURIER = (b'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA '
           b'IDLE AUTH=PLAIN ACL ACL2=UNION')


def dovecot_login(s, greeting_caps=DOVECOT_PRE):
    s.say(b'* OK [CAPABILITY ' + greeting_caps + b'] Dovecot ready.\r\n')
    s.say(b'* CAPABILITY ' + greeting_caps + b'\r\n' + s.t() +
          b' OK Pre-login capabilities listed, post-login capabilities have more.\r\n')
    s.say(s.t() + b' OK [CAPABILITY ' + DOVECOT_POST + b'] Logged in\r\n')


def main():
    os.makedirs(OUT, exist_ok=True)

    s = Transcript(0)
    dovecot_login(s)
    mailbox_session(s, lists=DOVECOT_LISTS, examine_extra=b'* OK [HIGHESTMODSEQ 5] Highest\r\n',
                    fetch_extra=b' MODSEQ (4)')
    s.write('dovecot-full')

    s = Transcript(STARTTLS)
    s.say(b'* OK [CAPABILITY ' + DOVECOT_PRE + b'] Dovecot ready.\r\n')
    s.say(s.t() + b' OK Begin TLS negotiation now.\r\n')
    caps = DOVECOT_PRE.replace(b' STARTTLS', b'')
    s.say(b'* CAPABILITY ' + caps + b'\r\n' + s.t() + b' OK Pre-login capabilities listed.\r\n')
    s.say(s.t() + b' OK [CAPABILITY ' + DOVECOT_POST + b'] Logged in\r\n')
    mailbox_session(s, lists=DOVECOT_LISTS[:2])
    s.write('dovecot-starttls')

    s = Transcript(OAUTH)
    dovecot_login(s)
    mailbox_session(s, lists=DOVECOT_LISTS[:2])
    s.write('dovecot-xoauth2')

    # Dovecot refuses a token: the JSON error challenge, the client's empty answer, NO.
    s = Transcript(OAUTH)
    s.say(b'* OK [CAPABILITY ' + DOVECOT_PRE + b'] Dovecot ready.\r\n')
    s.say(b'* CAPABILITY ' + DOVECOT_PRE + b'\r\n' + s.t() + b' OK Pre-login capabilities listed.\r\n')
    tag = s.t()
    s.say(b'+ ' + base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"mail"}') + b'\r\n')
    s.say(tag + b' NO [AUTHENTICATIONFAILED] Authentication failed.\r\n')
    s.write('dovecot-xoauth2-expired')

    # OAUTHBEARER only, without SASL-IR: the empty challenge first.
    s = Transcript(OAUTH)
    caps = b'IMAP4rev1 AUTH=OAUTHBEARER'
    s.say(b'* OK [CAPABILITY ' + caps + b'] ready\r\n')
    s.say(b'* CAPABILITY ' + caps + b'\r\n' + s.t() + b' OK done\r\n')
    tag = s.t()
    s.say(b'+ \r\n')
    s.say(tag + b' OK [CAPABILITY IMAP4rev1 NAMESPACE] Logged in\r\n')
    mailbox_session(s, lists=DOVECOT_LISTS[:1])
    s.write('oauthbearer-no-sasl-ir')

    s = Transcript(OAUTH)
    s.say(b'* OK Gimap ready for requests from 192.0.2.1 a1mb12345678abc\r\n')
    s.say(b'* CAPABILITY ' + GMAIL + b'\r\n' + s.t() + b' OK Thats all she wrote! a1mb12345678abc\r\n')
    s.say(b'* CAPABILITY ' + GMAIL_POST + b'\r\n' + s.t() +
          b' OK alice@gmail.com authenticated (Success)\r\n')
    mailbox_session(s, lists=[(b'\\HasNoChildren', b'"INBOX"'), (b'\\HasChildren \\Noselect', b'"[Gmail]"'),
                              (b'\\All \\HasNoChildren', b'"[Gmail]/All Mail"'),
                              (b'\\HasNoChildren \\Sent', b'"[Gmail]/Sent Mail"'),
                              (b'\\HasNoChildren \\Junk', b'"[Gmail]/Spam"')],
                    fetch_extra=b' X-GM-LABELS ("\\\\Inbox" "\\\\Important" Work) '
                                b'X-GM-MSGID 1278455344230334865')
    s.write('gmail-xoauth2')

    s = Transcript(OAUTH)
    s.say(b'* OK Gimap ready\r\n')
    s.say(b'* CAPABILITY ' + GMAIL + b'\r\n' + s.t() + b' OK Thats all\r\n')
    s.say(s.t() + b' OK authenticated (Success)\r\n')
    s.say(s.t() + b' NO [THROTTLED] Account exceeded command or bandwidth limits. b2mb1\r\n')
    s.say(b'* BYE [UNAVAILABLE] Temporary System Error\r\n')
    s.write('gmail-throttled')

    s = Transcript(0)
    s.say(b'* OK The Microsoft Exchange IMAP4 service is ready. '
          b'[TQBOADIAUABSADAAMQBDAEEAMAAwADAANAAuAGUAdQByAHAA]\r\n')
    s.say(b'* CAPABILITY ' + EXCHANGE + b'\r\n' + s.t() + b' OK CAPABILITY completed.\r\n')
    s.say(s.t() + b' OK LOGIN completed.\r\n')
    mailbox_session(s, lists=[(b'\\HasNoChildren', b'INBOX'), (b'\\HasNoChildren \\Sent', b'"Sent Items"'),
                              (b'\\HasNoChildren \\Trash', b'"Deleted Items"'),
                              (b'\\HasChildren', b'Calendar'), (b'\\HasNoChildren', b'"Calendar/Birthdays"')],
                    body=BODY_LF)
    s.write('exchange-login')

    s = Transcript(MASTER)
    s.say(b'* OK [CAPABILITY ' + COURIER + b'] Courier-IMAP ready. Copyright 1998-2018.\r\n')
    s.say(b'* CAPABILITY ' + COURIER + b'\r\n' + s.t() + b' OK CAPABILITY completed\r\n')
    s.say(s.t() + b' OK LOGIN Ok.\r\n')
    mailbox_session(s, sep=b'.', prefix=b'INBOX.',
                    lists=[(b'\\Unmarked \\HasChildren', b'"INBOX"'), (b'\\HasNoChildren', b'"INBOX.Sent"'),
                           (b'\\HasNoChildren', b'"INBOX.Drafts"')], body=BODY_LF)
    s.write('courier-master-user')

    s = Transcript(0)
    s.say(b'* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n')
    s.say(b'* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n' + s.t() + b' OK done\r\n')
    s.write('logindisabled')

    # No AUTH=PLAIN, no LITERAL+: LOGIN with quoted strings.
    s = Transcript(0)
    s.say(b'* OK IMAP4rev1 server ready\r\n')
    s.say(b'* CAPABILITY IMAP4rev1\r\n' + s.t() + b' OK done\r\n')
    s.say(s.t() + b' NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n')
    s.write('login-refused')

    s = Transcript(CLOSE)
    s.say(b'* PREAUTH [CAPABILITY IMAP4rev1 NAMESPACE] imapd ready, logged in as alice\r\n')
    s.say(b'* CAPABILITY IMAP4rev1 NAMESPACE\r\n' + s.t() + b' OK done\r\n')
    s.say(b'* NAMESPACE NIL NIL NIL\r\n' + s.t() + b' OK\r\n')
    s.write('preauth-closed')

    s = Transcript(COMPRESS)
    dovecot_login(s)
    s.say(s.t() + b' OK Begin compression.\r\n')
    s.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    mailbox_session(s, lists=DOVECOT_LISTS)
    s.write('dovecot-compress')


if __name__ == '__main__':
    main()
