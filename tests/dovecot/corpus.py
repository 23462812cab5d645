"""The edge-case mail corpus, as plain data (deterministic: same bytes on every run).

    import corpus
    c = corpus.edge_corpus('small')            # '/' source with special-use names
    c = corpus.edge_corpus('full')             # + a 25 MB message in folder "Big"
    c = corpus.edge_corpus('small', sep='.')   # Courier/Cyrus style source (INBOX.x)
    c = corpus.edge_corpus('small', special_use=False)   # "Sent Items", "Deleted Items", ...
    rig.load_source('alice', c)
    assert rig.project(rig.messages('src', 'alice')) == rig.project(c.expected(sep='/'))

A folder name is a tuple of hierarchy levels: ('Ünïcödé', 'Sub') is "Ünïcödé/Sub" on a '/'
server and "INBOX.Ünïcödé.Sub" on a '.' server; ('Projects.2024',) is one level containing a
dot.
Flags are IMAP flag strings (r'\\Seen', '$Forwarded', ...). internaldate is a unix time; the zone
of the original INTERNALDATE is in .tz for information only (maildir keeps only the instant).
"""

import base64
import datetime
import hashlib
import random

from rig import crlf, vsize_of

SYSTEM_FLAGS = (r'\Answered', r'\Deleted', r'\Draft', r'\Flagged', r'\Seen')
BIG_SIZE = 25 * 1024 * 1024


class Message:
    __slots__ = ('data', 'flags', 'internaldate', 'tz', 'note')

    def __init__(self, data, flags=(), internaldate=1700000000, tz='+0000', note=''):
        self.data = data
        self.flags = tuple(sorted(set(flags)))
        self.internaldate = int(internaldate)
        self.tz = tz
        self.note = note

    @property
    def message_id(self):
        """The Message-ID header value as doveadm prints it ('' when absent)."""
        head = self.data.replace(b'\r\n', b'\n').split(b'\n\n', 1)[0]
        for line in head.split(b'\n'):
            if line[:11].lower() == b'message-id:':
                return line[11:].strip().decode('ascii', 'replace')
        return ''

    def __repr__(self):
        return '<Message %s %d bytes %s %s>' % (self.message_id or '(no id)', len(self.data),
                                                self.flags, self.note)


class Folder:
    __slots__ = ('name', 'messages', 'subscribed', 'special_use')

    def __init__(self, name, messages=(), subscribed=True, special_use=''):
        self.name = tuple(name)
        self.messages = list(messages)
        self.subscribed = subscribed
        self.special_use = special_use   # what the source advertises (if it declares any)

    def __repr__(self):
        return '<Folder %s: %d messages>' % ('/'.join(self.name), len(self.messages))


class Corpus:
    def __init__(self, name, folders, sep='/'):
        self.name = name
        self.folders = list(folders)
        self.sep = sep

    def folder(self, *name):
        for f in self.folders:
            if f.name == tuple(name):
                return f
        raise KeyError(name)

    @property
    def messages(self):
        return [m for f in self.folders for m in f.messages]

    @property
    def total_messages(self):
        return sum(len(f.messages) for f in self.folders)

    @property
    def total_bytes(self):
        return sum(len(m.data) for f in self.folders for m in f.messages)

    @property
    def total_vsize(self):
        return sum(vsize_of(m.data) for f in self.folders for m in f.messages)

    def vname(self, name, sep=None, prefix=None):
        """A folder's name on a server with separator sep ('/' -> prefix '', '.' -> 'INBOX.')."""
        sep = sep or self.sep
        name = tuple(name)
        if prefix is None:
            prefix = 'INBOX.' if sep == '.' else ''
        if name == ('INBOX',):
            return 'INBOX'
        if prefix and name[0] == prefix.rstrip(sep):
            name = name[1:]
        return prefix + sep.join(name)

    def expected(self, sep=None, prefix=None, mailbox_map=None):
        """What rig.messages() should report for this corpus on a server with separator sep
        (uid/guid/size left out). mailbox_map: optional {source vname: expected vname}."""
        out = []
        for f in self.folders:
            box = self.vname(f.name, sep, prefix)
            if mailbox_map:
                box = mailbox_map.get(box, box)
            for m in f.messages:
                out.append({'mailbox': box, 'message_id': m.message_id, 'flags': m.flags,
                            'date_received': m.internaldate, 'vsize': vsize_of(m.data),
                            'sha256': hashlib.sha256(crlf(m.data)).hexdigest()})
        return out

    def expected_mailboxes(self, sep=None, prefix=None):
        """{vname: number of messages} for the corpus' folders (real folders only)."""
        return {self.vname(f.name, sep, prefix): len(f.messages) for f in self.folders}


# --------------------------------------------------------------------------- message builders

def rfc2822_date(ts, tz='+0000'):
    """Date header text for unix time ts shown in zone tz ('+1345', '-0930', ...)."""
    sign = -1 if tz[0] == '-' else 1
    off = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone(off))
    return d.strftime('%a, %d %b %Y %H:%M:%S ') + tz


def make_message(subject, body, *, msgid=None, frm=b'Alice Example <alice@example.org>',
                 to=b'Bob Example <bob@example.net>', date=1700000000, tz='+0000',
                 headers=(), eol=b'\r\n', date_header=True):
    """A simple RFC 5322 message (bytes). subject/body/headers may be str (UTF-8) or bytes;
    headers: extra (name, value) pairs placed before Subject."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode('utf-8')
    lines = [b'From: ' + b(frm), b'To: ' + b(to)]
    for name, value in headers:
        lines.append(b(name) + b': ' + b(value))
    lines.append(b'Subject: ' + b(subject))
    if date_header:
        lines.append(b'Date: ' + rfc2822_date(date, tz).encode())
    if msgid is not None:
        lines.append(b'Message-ID: <' + b(msgid) + b'>')
    lines.append(b'MIME-Version: 1.0')
    lines.append(b'Content-Type: text/plain; charset=utf-8')
    lines.append(b'Content-Transfer-Encoding: 8bit')
    body = b(body).replace(b'\r\n', b'\n').replace(b'\n', eol)
    return eol.join(lines) + eol + eol + body


def attachment_message(subject, msgid, payload, *, date=1700000000, tz='+0000',
                       filename='data.bin', text='See attachment.\n'):
    """multipart/mixed with a text part and a base64 attachment (76-char lines, CRLF)."""
    boundary = ('=_migrate_' + hashlib.sha1(msgid.encode()).hexdigest()[:16]).encode()
    enc = base64.encodebytes(payload).replace(b'\n', b'\r\n')
    parts = [
        b'From: Alice Example <alice@example.org>',
        b'To: Bob Example <bob@example.net>',
        b'Subject: ' + subject.encode(),
        b'Date: ' + rfc2822_date(date, tz).encode(),
        b'Message-ID: <' + msgid.encode() + b'>',
        b'MIME-Version: 1.0',
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"',
        b'',
        b'This is a multi-part message in MIME format.',
        b'--' + boundary,
        b'Content-Type: text/plain; charset=utf-8',
        b'',
        text.replace('\n', '\r\n').encode(),
        b'--' + boundary,
        b'Content-Type: application/octet-stream; name="' + filename.encode() + b'"',
        b'Content-Transfer-Encoding: base64',
        b'Content-Disposition: attachment; filename="' + filename.encode() + b'"',
        b'',
    ]
    return b'\r\n'.join(parts) + b'\r\n' + enc + b'--' + boundary + b'--\r\n'


def pseudo_random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


def big_message(size=BIG_SIZE, seed='big-25m', msgid='big-25m@corpus.migrate.test'):
    """A deterministic message of about `size` bytes (base64 attachment)."""
    raw = pseudo_random_bytes(int(size * 57 / 78), seed)   # base64 76+2 bytes per 57 input bytes
    return attachment_message('A 25 MB attachment', msgid, raw, date=1650000000, tz='+0200',
                              filename='big.bin')


def simple_messages(n, tag='simple', start=1600000000, step=3600, size=600, flags_cycle=None,
                    seed=None):
    """n small distinct messages (Message-IDs <tag-i@corpus.migrate.test>), deterministic.
    flags_cycle: list of flag tuples applied round-robin (default: every 3rd \\Seen)."""
    rnd = random.Random(seed if seed is not None else tag)
    if flags_cycle is None:
        flags_cycle = [(r'\Seen',), (), ()]
    words = ('alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india',
             'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo')
    out = []
    for i in range(n):
        body, length = [], 0
        while length < size:
            body.append(rnd.choice(words))
            length += len(body[-1]) + 1
        text = '\n'.join(' '.join(body[j:j + 12]) for j in range(0, len(body), 12)) + '\n'
        ts = start + i * step
        out.append(Message(make_message('%s message %d' % (tag, i), text,
                                         msgid='%s-%d@corpus.migrate.test' % (tag, i), date=ts),
                           flags_cycle[i % len(flags_cycle)], ts))
    return out


# --------------------------------------------------------------------------- the edge corpus

def _inbox_messages():
    msgs = []
    d = 1700000000

    def add(data, flags=(), ts=None, tz='+0000', note=''):
        msgs.append(Message(data, flags, d + len(msgs) * 60 if ts is None else ts, tz, note))

    add(make_message('Plain ASCII', 'Hello Bob.\n', msgid='plain@corpus'), [r'\Seen'],
        note='plain')
    # Every system flag, alone and all together.
    for fl in SYSTEM_FLAGS:
        add(make_message('Flag %s' % fl, 'Only %s.\n' % fl,
                         msgid='flag-%s@corpus' % fl[1:].lower()), [fl], note='flag ' + fl)
    add(make_message('All flags', 'Every system flag.\n', msgid='allflags@corpus'),
        list(SYSTEM_FLAGS), note='all system flags')
    add(make_message('No flags', 'Nothing set.\n', msgid='noflags@corpus'), [], note='no flags')
    # Keywords.
    add(make_message('Keywords', 'Keywords galore.\n', msgid='keywords@corpus'),
        [r'\Seen', '$Forwarded', '$Junk', 'project-x', '$label1', 'Work'], note='keywords')
    add(make_message('Forwarded', 'Was forwarded.\n', msgid='fwd@corpus'),
        [r'\Seen', r'\Answered', '$Forwarded', '$MDNSent'], note='keywords 2')
    # INTERNALDATEs: odd zones, the far past, past 2038.
    for ts, tz, note in ((631152000, '+0000', '1990-01-01'),
                         (700000000, '+1345', 'Chatham +1345'),
                         (800000000, '-0930', 'Marquesas -0930'),
                         (900000000, '+0530', 'India +0530'),
                         (1000000000, '-1200', '-1200'),
                         (1100000000, '+1400', 'Kiribati +1400'),
                         (2147483647, '+0000', '2038-01-19 03:14:07 (2^31-1)'),
                         (2200000000, '+0100', '2039-09-19, past 2^31')):
        add(make_message('Date %s' % note, 'INTERNALDATE test.\n', msgid='date-%d@corpus' % ts,
                         date=ts, tz=tz), [r'\Seen'], ts=ts, tz=tz, note='date ' + note)
    # 8-bit headers (raw UTF-8 and raw Latin-1) and encoded words.
    add(make_message(b'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe2\x80\x93 8-bit UTF-8 subject',
                     'Grüße, 日本語テキスト.\n', msgid='8bit-utf8@corpus',
                     frm=b'J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>'), [r'\Seen'],
        note='8-bit UTF-8 headers')
    add(make_message(b'Caf\xe9 cr\xe8me (Latin-1 bytes)', b'Caf\xe9\n', msgid='8bit-latin1@corpus',
                     frm=b'Fran\xe7ois <francois@example.fr>'), [], note='8-bit Latin-1 headers')
    add(make_message('=?UTF-8?B?w5xiZXJwcsO8ZnVuZw==?= =?ISO-8859-1?Q?caf=E9?=', 'Encoded words.\n',
                     msgid='encoded-words@corpus'), [r'\Seen'], note='RFC 2047')
    # Line endings.
    add(make_message('Bare LF', 'Line one\nLine two\n\nLast line\n', msgid='bare-lf@corpus',
                     eol=b'\n'), [r'\Seen'], note='bare LF')
    add(make_message('Mixed endings', 'x', msgid='mixed-eol@corpus')[:-1]
        + b'CRLF line\r\nLF line\nCR-only\rtext\r\nend\r\n', [], note='mixed line endings')
    add(make_message('No final newline', 'The body ends without a newline.',
                     msgid='no-final-eol@corpus').rstrip(b'\r\n'), [], note='no final EOL')
    add(b'From: a@example.org\r\nSubject: Headers only\r\n'
        b'Message-ID: <headers-only@corpus>\r\n\r\n',
        [], note='empty body')
    add(make_message('No Message-ID', 'There is no Message-ID.\n', date_header=False), [],
        note='no Message-ID, no Date')
    # Header/body shapes that trip parsers.
    refs = ' '.join('<ref-%03d@corpus.example.org>' % i for i in range(300))
    add(make_message('Long headers', 'Long folded and unfolded headers.\n',
                     msgid='long-headers@corpus',
                     headers=[('References', refs.replace('> <', '>\r\n <')),
                              ('X-Unfolded', 'x' * 3000)]), [], note='long headers')
    add(make_message('Dots and From', 'From here\n.\n..\n.leading dot\r\n)\n* OK not a response\n'
                     '{123}\nA001 OK fake\n', msgid='dots@corpus'), [], note='IMAP-looking body')
    add(attachment_message('Small attachment', 'attach-small@corpus',
                           pseudo_random_bytes(50000, 'attach-small')), [r'\Seen'],
        note='50 kB attachment')
    # Exact duplicates: the same bytes twice in one folder.
    dup = make_message('Duplicate', 'I am here twice.\n', msgid='duplicate@corpus')
    add(dup, [r'\Seen'], ts=1700100000, note='duplicate 1')
    add(dup, [r'\Seen'], ts=1700100000, note='duplicate 2')
    return msgs


def _few(tag, n=2, flags=(r'\Seen',), start=1690000000):
    return [Message(make_message('%s %d' % (tag, i), 'In %s.\n' % tag,
                                 msgid='%s-%d@corpus' % (tag.replace(' ', '-').lower(), i),
                                 date=start + i * 3600), flags, start + i * 3600)
            for i in range(n)]


def edge_corpus(variant='small', sep='/', special_use=True):
    """The edge-case corpus. variant 'small' (about 70 messages, 0.3 MB) or 'full' (+ folder
    "Big" holding one 25 MB message). sep '/' or '.' (no level may contain the separator; on a
    '/' source the corpus has "Projects.2024" next to "Projects/2024"). special_use=False uses
    Outlook/Exchange names ("Sent Items", "Deleted Items", "Junk E-mail") for a source that does
    not declare special-use."""
    if variant not in ('small', 'full'):
        raise ValueError(variant)
    if special_use:
        names = {'sent': 'Sent', 'drafts': 'Drafts', 'trash': 'Trash', 'junk': 'Junk'}
    else:
        names = {'sent': 'Sent Items', 'drafts': 'Drafts', 'trash': 'Deleted Items',
                 'junk': 'Junk E-mail'}
    su = (lambda flag: flag) if special_use else (lambda flag: '')
    F = Folder
    folders = [
        F(('INBOX',), _inbox_messages()),
        F((names['sent'],), _few('Sent', 3, (r'\Seen',)), special_use=su(r'\Sent')),
        F((names['drafts'],), _few('Drafts', 2, (r'\Draft',)), special_use=su(r'\Drafts')),
        F((names['trash'],), _few('Trash', 2, (r'\Seen', r'\Deleted')), special_use=su(r'\Trash')),
        F((names['junk'],), _few('Junk', 2, ('$Junk',)), special_use=su(r'\Junk')),
        F(('Entwürfe',), _few('Entwuerfe', 1, (r'\Draft',))),
        F(('日本語',), _few('Nihongo', 2)),
        F(('Ünïcödé',), _few('Unicode parent', 1)),
        F(('Ünïcödé', 'Sub'), _few('Unicode sub', 2)),
        F(('A&B Co',), _few('Ampersand', 1)),
        F(('R&D', 'Q&A'), _few('RnD QnA', 1)),          # parent R&D is only a \NoSelect level
        F(('Folder with spaces',), _few('Spaces', 1)),
        # 5 levels; L2 and L4 exist only as parents.
        F(('Deep',), _few('Deep 1', 1)),
        F(('Deep', 'L2', 'L3'), _few('Deep 3', 1)),
        F(('Deep', 'L2', 'L3', 'L4', 'L5'), _few('Deep 5', 2)),
        F(('Archive',), _few('Archive', 1)),
        F(('Archive', '2023'), _few('Archive 2023', 3, (r'\Seen', r'\Flagged'))),
        F(('Empty',), []),
        F(('Old Stuff',), _few('Unsubscribed', 2), subscribed=False),
        F(('Projects',), _few('Projects', 1)),
        F(('Projects', '2024'), _few('Projects 2024 child', 2)),
    ]
    if sep == '/':
        # A level containing the other layout's separator: must stay separate from Projects/2024.
        folders.append(F(('Projects.2024',), _few('Projects dot 2024', 2)))
    elif sep != '.':
        raise ValueError(sep)
    if variant == 'full':
        folders.append(F(('Big',), [Message(big_message(), [r'\Seen'], 1650000000, '+0200',
                                            '25 MB')]))
    return Corpus('edge-%s%s%s' % (variant, '' if sep == '/' else '-dot',
                                   '' if special_use else '-nospecialuse'), folders, sep)


def simple_corpus(n=100, folders=(('INBOX',),), tag='simple', size=600):
    """n simple messages per folder."""
    return Corpus('simple', [Folder(f, simple_messages(n, '%s-%s' % (tag, '-'.join(f)), size=size))
                             for f in folders])
