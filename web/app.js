/*
 * app.js: natter in the browser.  One IRC connection over a WebSocket
 * (ws[s]://<this host>/irc, subprotocol text.ircv3.net, one IRC line
 * per message) to the natterd that served this page.  No library, no
 * build step.
 *
 * Safe by construction: everything that comes from the server is put
 * on the page with textContent (never innerHTML or the like), nothing
 * is turned into a link, mIRC formatting characters are removed, and
 * each nick and text sits in its own dir="auto" element that CSS
 * isolates (unicode-bidi: isolate), so a right-to-left override in one
 * cannot reorder the rest of its line.  The page has no inline script
 * or style: the server's Content-Security-Policy forbids them.
 *
 * Element ids and classes (the browser tests rely on them):
 *   #login            the form asking for a nick (#nick) and a room
 *                     (#room), sent with #connect; #loginerror
 *   #chat             the chat, shown once the form is sent
 *   #tabs .tab        one tab per room and private conversation;
 *                     .tab.active is the one shown, .tab .name its
 *                     name, .tab .unread its unread count ("" for none)
 *   #state            "connecting", "" (connected) or "reconnecting..."
 *   #topic            the shown room's topic
 *   #log              the shown conversation, one .line per line:
 *     .line           also .msg .action .notice .event .info .error,
 *                     .self (ours), .mention (names us), .history (read
 *                     back from the server's history); data-msgid
 *     .time           HH:MM (its title: the full date and time)
 *     .nick           who spoke or did something
 *     .text           the message (or a topic, a reason) as sent
 *     .desc           the words around them ("has joined #7")
 *   #nicklist         li.member per member: .prefix ("@", "+", "") and
 *                     .name; li.away for someone away
 *   #input            the text box (Enter sends, Shift-Enter is a new
 *                     line, Up and Down recall sent lines); #send
 *   #notify           asks for permission to show notifications
 *   #nicksbutton      shows the nick list on a small screen
 *
 * The conversation keeps its lines in time order (history read later
 * is put in its place) and never shows a msgid twice.
 */
'use strict';

(function () {
	const WANT_CAPS = ['server-time', 'message-tags', 'batch',
	    'draft/chathistory', 'echo-message', 'draft/multiline',
	    'away-notify', 'multi-prefix', 'userhost-in-names',
	    'extended-join'];
	const BACKOFF_MIN = 1000;	/* ms before the first reconnect */
	const BACKOFF_MAX = 15000;
	const OLDER_PAGE = 50;		/* lines per CHATHISTORY BEFORE */
	const CATCH_UP = 100;		/* lines per CHATHISTORY AFTER */
	const CHUNK_BYTES = 400;	/* longest text sent in one line */
	const TITLE = 'natter';
	const HELP = 'Enter sends, Shift-Enter starts a new line, Up and ' +
	    'Down recall what you sent. ' +
	    'Commands: /join #room, /part [reason], /me text, ' +
	    '/msg nick text, /query nick, /nick newnick, /topic text, ' +
	    '/quit [reason]. Any other /command is sent to the server ' +
	    'as it is, without the slash (/whois bob sends WHOIS bob); ' +
	    '//text sends /text as a message.';

	const $ = (id) => document.getElementById(id);
	const ui = {
		login: $('login'), nick: $('nick'), room: $('room'),
		connect: $('connect'), loginError: $('loginerror'),
		chat: $('chat'), tabs: $('tabs'), state: $('state'),
		topic: $('topic'), log: $('log'), nicklist: $('nicklist'),
		input: $('input'), sendForm: $('sendform'),
		notify: $('notify'), nicksButton: $('nicksbutton')
	};

	/* The connection. */
	let ws = null;
	let nick = '';			/* ours, as the server knows it */
	let wantNick = '';		/* asked for (plus "_" after a 433) */
	let registered = false;
	let quitting = false;
	let backoff = BACKOFF_MIN;
	let retryTimer = null;
	let retryAt = 0;
	const caps = new Set();		/* acknowledged */
	let offered = new Map();	/* CAP LS: name -> value */
	let prefixModes = 'ov';
	let prefixChars = '@+';
	let chanModes = ['beI', 'k', 'l', ''];
	let mlMaxBytes = 4096;
	let mlMaxLines = 100;
	const batches = new Map();	/* open batches by reference */
	const pongs = new Map();	/* PING token -> what to do */
	let tokens = 0;

	/* The conversations: rooms and private ones, by folded name. */
	const buffers = new Map();
	let current = null;

	/* Sent lines for Up and Down. */
	const sentLines = [];
	let recall = 0;
	let draft = '';

	/* --- small helpers --- */

	/* natterd's CASEMAPPING is rfc1459, ASCII only. */
	function fold(s) {
		return s.replace(/[A-Z[\]\\~]/g, (ch) => {
			switch (ch) {
			case '[': return '{';
			case ']': return '}';
			case '\\': return '|';
			case '~': return '^';
			default: return ch.toLowerCase();
			}
		});
	}

	function isRoom(name) {
		return name.length > 0 && name[0] === '#';
	}

	/* "7" -> "#7", "lobby" -> "#lobby", "#x" stays. */
	function roomName(s) {
		s = s.trim();
		if (s === '')
			return '';
		return isRoom(s) ? s : '#' + s;
	}

	function nickOf(prefix) {
		const i = prefix.indexOf('!');
		return i < 0 ? prefix : prefix.slice(0, i);
	}

	function isServerPrefix(prefix) {
		return prefix === '' || prefix.indexOf('!') < 0 &&
		    prefix.indexOf('.') >= 0;
	}

	function same(a, b) {
		return fold(a) === fold(b);
	}

	/* mIRC bold, colour, reset, reverse, italic, strike, underline,
	 * monospace: shown as plain text. */
	const MIRC = /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/g;

	function plain(s) {
		return s.replace(MIRC, '');
	}

	function store(key, value) {
		try {
			localStorage.setItem('natter.' + key, value);
		} catch (e) {
			/* private mode: nothing is remembered */
		}
	}

	function recalled(key) {
		try {
			return localStorage.getItem('natter.' + key) || '';
		} catch (e) {
			return '';
		}
	}

	function element(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	/* Text of unknown direction, isolated from what is around it. */
	function isolated(tag, cls, text) {
		const e = element(tag, cls, text);
		e.dir = 'auto';
		return e;
	}

	function two(n) {
		return n < 10 ? '0' + n : '' + n;
	}

	function nickColour(name) {
		let h = 0;
		for (const ch of fold(name))
			h = (h * 31 + ch.codePointAt(0)) >>> 0;
		return 'c' + (h % 8);
	}

	function utf8Length(s) {
		return new TextEncoder().encode(s).length;
	}

	/* s in pieces of at most max bytes, cut between code points. */
	function chunks(s, max) {
		const out = [];
		let piece = '';
		let bytes = 0;
		for (const ch of s) {
			const n = utf8Length(ch);
			if (bytes + n > max && piece !== '') {
				out.push(piece);
				piece = '';
				bytes = 0;
			}
			piece += ch;
			bytes += n;
		}
		out.push(piece);
		return out;
	}

	/* --- parsing --- */

	function unescapeTag(v) {
		return v.replace(/\\(.?)/g, (all, ch) => {
			switch (ch) {
			case ':': return ';';
			case 's': return ' ';
			case 'r': return '\r';
			case 'n': return '\n';
			default: return ch;
			}
		});
	}

	function parse(line) {
		const m = { tags: Object.create(null), prefix: '',
		    command: '', params: [], history: false, batch: null };
		let i = 0;
		if (line[0] === '@') {
			const sp = line.indexOf(' ');
			if (sp < 0)
				return null;
			for (const kv of line.slice(1, sp).split(';')) {
				if (kv === '')
					continue;
				const eq = kv.indexOf('=');
				if (eq < 0)
					m.tags[kv] = '';
				else
					m.tags[kv.slice(0, eq)] =
					    unescapeTag(kv.slice(eq + 1));
			}
			i = sp + 1;
		}
		while (line[i] === ' ')
			i++;
		if (line[i] === ':') {
			const sp = line.indexOf(' ', i);
			if (sp < 0)
				return null;
			m.prefix = line.slice(i + 1, sp);
			i = sp + 1;
		}
		const words = [];
		while (i < line.length) {
			if (line[i] === ' ') {
				i++;
				continue;
			}
			if (line[i] === ':' && words.length > 0) {
				words.push(line.slice(i + 1));
				break;
			}
			let sp = line.indexOf(' ', i);
			if (sp < 0)
				sp = line.length;
			words.push(line.slice(i, sp));
			i = sp + 1;
		}
		if (words.length === 0)
			return null;
		m.command = words[0].toUpperCase();
		m.params = words.slice(1);
		return m;
	}

	function timeOf(m) {
		const t = m.tags.time !== undefined ? Date.parse(m.tags.time) :
		    NaN;
		return isNaN(t) ? Date.now() : t;
	}

	/* --- conversations --- */

	function Buffer(name, kind) {
		this.name = name;
		this.kind = kind;		/* "room" or "query" */
		this.el = element('div', 'buffer');
		this.lines = [];		/* { t, el, msgid }, by time */
		this.ids = new Set();		/* msgids shown */
		this.unread = 0;
		this.topic = '';
		this.members = new Map();	/* folded nick -> member */
		this.names = false;		/* reading a 353 list */
		this.wanted = kind === 'room';	/* (re)join it */
		this.joined = false;
		this.catchUp = false;		/* AFTER once rejoined */
		this.olderPending = false;
		this.olderDone = false;
		this.reading = 0;		/* chathistory batches open */
		this.atBottom = true;
		this.scrollTop = 0;
		this.tab = element('button', 'tab');
		this.tab.type = 'button';
		this.tab.setAttribute('role', 'tab');
		this.tabName = isolated('span', 'name', name);
		this.tabUnread = element('span', 'unread', '');
		this.tabClose = element('span', 'close', '\u00d7');
		this.tabClose.title = kind === 'room' ? 'Leave' : 'Close';
		this.tab.append(this.tabName, this.tabUnread, this.tabClose);
		this.tab.addEventListener('click', (ev) => {
			if (ev.target === this.tabClose)
				closeBuffer(this);
			else
				select(this);
		});
	}

	function findBuffer(name) {
		return buffers.get(fold(name)) || null;
	}

	function openBuffer(name, kind) {
		let b = findBuffer(name);
		if (b === null) {
			b = new Buffer(name, kind);
			buffers.set(fold(name), b);
			ui.tabs.append(b.tab);
		}
		return b;
	}

	function removeBuffer(b) {
		buffers.delete(fold(b.name));
		b.tab.remove();
		if (current === b) {
			current = null;
			b.el.remove();
			const next = buffers.values().next();
			if (!next.done)
				select(next.value);
			else
				showTopic();
		}
		updateTitle();
	}

	function renameBuffer(b, name) {
		if (findBuffer(name) !== null && findBuffer(name) !== b)
			return;
		buffers.delete(fold(b.name));
		b.name = name;
		b.tabName.textContent = name;
		buffers.set(fold(name), b);
		if (current === b)
			showTopic();
	}

	function closeBuffer(b) {
		if (b.kind === 'room' && b.joined) {
			b.wanted = false;
			send('PART ' + b.name);
		} else {
			removeBuffer(b);
		}
	}

	function atBottom() {
		const l = ui.log;
		return l.scrollHeight - l.scrollTop - l.clientHeight < 24;
	}

	function select(b) {
		if (current === b) {
			ui.input.focus();
			return;
		}
		if (current !== null) {
			current.atBottom = atBottom();
			current.scrollTop = ui.log.scrollTop;
			current.el.remove();
			current.tab.classList.remove('active');
			current.tab.setAttribute('aria-selected', 'false');
		}
		current = b;
		ui.log.append(b.el);
		b.tab.classList.add('active');
		b.tab.setAttribute('aria-selected', 'true');
		ui.log.scrollTop = b.atBottom ? ui.log.scrollHeight :
		    b.scrollTop;
		seen(b);
		showTopic();
		showNicks();
		ui.input.focus();
		maybeOlder();
	}

	function seen(b) {
		if (b.unread === 0 && !b.tab.classList.contains('mentioned'))
			return;
		b.unread = 0;
		b.tabUnread.textContent = '';
		b.tab.classList.remove('mentioned');
		updateTitle();
	}

	function updateTitle() {
		let n = 0;
		for (const b of buffers.values())
			n += b.unread;
		document.title = n > 0 ? '(' + n + ') ' + TITLE : TITLE;
	}

	function showTopic() {
		const b = current;
		ui.topic.classList.remove('empty');
		if (b === null) {
			ui.topic.textContent = '';
		} else if (b.kind === 'query') {
			ui.topic.textContent = 'Private conversation with ' +
			    b.name;
		} else if (b.topic === '') {
			ui.topic.textContent = 'No topic';
			ui.topic.classList.add('empty');
		} else {
			ui.topic.textContent = plain(b.topic);
		}
	}

	/* --- members --- */

	function rank(m) {
		for (let i = 0; i < prefixModes.length; i++)
			if (m.modes.indexOf(prefixModes[i]) >= 0)
				return i;
		return prefixModes.length;
	}

	function showNicks() {
		const list = ui.nicklist;
		list.replaceChildren();
		const b = current;
		if (b === null || b.kind !== 'room') {
			list.classList.add('none');
			return;
		}
		list.classList.remove('none');
		const all = Array.from(b.members.values());
		all.sort((x, y) => rank(x) - rank(y) ||
		    (fold(x.nick) < fold(y.nick) ? -1 :
		    fold(x.nick) > fold(y.nick) ? 1 : 0));
		for (const m of all) {
			const r = rank(m);
			const li = element('li', 'member' +
			    (m.away ? ' away' : ''));
			li.dataset.nick = m.nick;
			li.append(element('span', 'prefix',
			    r < prefixChars.length ? prefixChars[r] : ''),
			    isolated('span', 'name ' + nickColour(m.nick),
			    m.nick));
			li.title = m.away ? m.nick + ' is away' : m.nick;
			list.append(li);
		}
		const count = element('li', 'count', all.length +
		    (all.length === 1 ? ' person' : ' people'));
		list.prepend(count);
	}

	function membersChanged(b) {
		if (b === current)
			showNicks();
	}

	function addMember(b, name, modes) {
		const key = fold(name);
		const old = b.members.get(key);
		b.members.set(key, { nick: name, modes: modes || '',
		    away: old ? old.away : false });
	}

	/* --- lines --- */

	/*
	 * Adds a line to b in its place by time: parts is a list of
	 * [class, text] ("nick", "text", "desc", or "" for plain words).
	 * meta: { time, msgid, history, self, mention }.  Returns the line
	 * or null if its msgid was shown already.
	 */
	function addLine(b, kind, meta, parts) {
		if (meta.msgid) {
			if (b.ids.has(meta.msgid))
				return null;
			b.ids.add(meta.msgid);
		}
		const t = meta.time !== undefined ? meta.time : Date.now();
		const el = element('div', 'line ' + kind);
		if (meta.self)
			el.classList.add('self');
		if (meta.mention)
			el.classList.add('mention');
		if (meta.history)
			el.classList.add('history');
		if (meta.msgid)
			el.dataset.msgid = meta.msgid;
		const d = new Date(t);
		const time = element('span', 'time',
		    two(d.getHours()) + ':' + two(d.getMinutes()));
		time.title = d.toLocaleString();
		el.append(time);
		for (const [cls, text] of parts) {
			el.append(' ');
			if (cls === 'nick')
				el.append(isolated('span', 'nick ' +
				    nickColour(text), text));
			else if (cls === 'text')
				el.append(isolated('span', 'text',
				    plain(text)));
			else if (cls === 'desc')
				el.append(element('span', 'desc', text));
			else
				el.append(text);
		}

		const follow = b === current && atBottom();
		/* Find its place: usually the end. */
		let i = b.lines.length;
		while (i > 0 && b.lines[i - 1].t > t)
			i--;
		const entry = { t: t, el: el, msgid: meta.msgid || '' };
		if (i === b.lines.length)
			b.el.append(el);
		else
			b.el.insertBefore(el, b.lines[i].el);
		b.lines.splice(i, 0, entry);
		if (follow)
			ui.log.scrollTop = ui.log.scrollHeight;
		return el;
	}

	function info(text, kind) {
		const b = current;
		if (b === null)
			return;
		addLine(b, kind || 'info', {}, [['desc', text]]);
	}

	function newestId(b) {
		for (let i = b.lines.length - 1; i >= 0; i--)
			if (b.lines[i].msgid)
				return b.lines[i].msgid;
		return '';
	}

	function oldest(b) {
		for (const l of b.lines)
			if (l.msgid)
				return l;
		return null;
	}

	function mentions(text) {
		if (nick === '')
			return false;
		const esc = nick.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
		return new RegExp('(^|[^\\w\\[\\]\\\\`^{|}-])' + esc +
		    '($|[^\\w\\[\\]\\\\`^{|}-])', 'i').test(text);
	}

	function unread(b, line, mention, from, text) {
		const looking = b === current && !document.hidden;
		if (!looking) {
			b.unread++;
			b.tabUnread.textContent = '' + b.unread;
			if (mention)
				b.tab.classList.add('mentioned');
			updateTitle();
		}
		if (mention && document.hidden && 'Notification' in window &&
		    Notification.permission === 'granted') {
			try {
				const n = new Notification(from +
				    (b.kind === 'room' ? ' in ' + b.name : ''),
				    { body: plain(text), tag: 'natter-' +
				    fold(b.name) });
				n.onclick = () => {
					window.focus();
					select(b);
					n.close();
				};
			} catch (e) {
				/* some browsers want a service worker */
			}
		}
	}

	/* --- the scroll position, kept when older lines come in --- */

	function anchor() {
		if (atBottom())
			return { bottom: true };
		const top = ui.log.scrollTop;
		for (const el of current.el.children)
			if (el.offsetTop + el.offsetHeight > top)
				return { el: el, off: el.offsetTop - top };
		return { bottom: true };
	}

	function restore(a) {
		if (a.bottom)
			ui.log.scrollTop = ui.log.scrollHeight;
		else
			ui.log.scrollTop = a.el.offsetTop - a.off;
	}

	function maybeOlder() {
		const b = current;
		if (b === null || !registered || b.olderPending ||
		    b.olderDone || b.reading > 0 ||
		    !caps.has('draft/chathistory') ||
		    (b.kind === 'room' && !b.joined))
			return;
		if (ui.log.scrollTop > 40 &&
		    ui.log.scrollHeight > ui.log.clientHeight)
			return;
		const first = oldest(b);
		if (first === null)
			return;
		b.olderPending = true;
		send('CHATHISTORY BEFORE ' + b.name + ' msgid=' + first.msgid +
		    ' ' + OLDER_PAGE);
		/* The PONG comes after the whole answer. */
		whenDone(() => {
			b.olderPending = false;
			if (oldest(b) === first)
				b.olderDone = true;
			else if (b === current)
				maybeOlder();
		});
	}

	function whenDone(fn) {
		const token = 'natter-' + (++tokens);
		pongs.set(token, fn);
		send('PING :' + token);
	}

	/* --- the connection --- */

	function setState(text, cls) {
		ui.state.textContent = text;
		ui.state.className = cls || '';
	}

	function send(line) {
		if (ws === null || ws.readyState !== WebSocket.OPEN)
			return false;
		ws.send(line.replace(/[\r\n]/g, ' '));
		return true;
	}

	function connect() {
		clearTimeout(retryTimer);
		retryTimer = null;
		const url = (location.protocol === 'https:' ? 'wss://' :
		    'ws://') + location.host + '/irc';
		setState('connecting\u2026', 'busy');
		registered = false;
		caps.clear();
		offered = new Map();
		batches.clear();
		pongs.clear();
		try {
			ws = new WebSocket(url, ['text.ircv3.net']);
		} catch (e) {
			ws = null;
			retry();
			return;
		}
		const me = ws;
		ws.onopen = () => {
			if (me !== ws)
				return;
			send('CAP LS 302');
			send('NICK ' + wantNick);
			send('USER ' + userName() + ' 0 * :natter web');
		};
		ws.onmessage = (ev) => {
			if (me !== ws || typeof ev.data !== 'string')
				return;
			for (const line of ev.data.split(/\r?\n/))
				if (line !== '')
					receive(line);
		};
		ws.onclose = () => {
			if (me !== ws)
				return;
			ws = null;
			disconnected();
		};
	}

	function userName() {
		const u = wantNick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10);
		return u !== '' ? u : 'web';
	}

	function disconnected() {
		const was = registered;
		registered = false;
		for (const b of buffers.values()) {
			b.joined = false;
			b.olderPending = false;
			b.reading = 0;
		}
		if (quitting) {
			setState('disconnected', 'down');
			ui.chat.hidden = true;
			ui.login.hidden = false;
			ui.connect.disabled = false;
			return;
		}
		if (was)
			for (const b of buffers.values())
				addLine(b, 'info', {}, [['desc',
				    'Disconnected: reconnecting\u2026']]);
		retry();
	}

	function retry() {
		const wait = backoff;
		backoff = Math.min(backoff * 2, BACKOFF_MAX);
		retryAt = Date.now() + wait;
		countdown();
		retryTimer = setTimeout(connect, wait);
	}

	function countdown() {
		if (retryTimer === null && retryAt <= Date.now())
			return;
		const s = Math.max(1, Math.ceil((retryAt - Date.now()) /
		    1000));
		setState('reconnecting in ' + s + ' s\u2026', 'down');
		if (retryAt - Date.now() > 1000)
			setTimeout(() => {
				if (ws === null)
					countdown();
			}, 1000);
	}

	function welcome(m) {
		registered = true;
		nick = m.params[0];
		backoff = BACKOFF_MIN;
		setState('', '');
		ui.input.disabled = false;
		const rooms = [];
		for (const b of buffers.values()) {
			b.catchUp = b.lines.length > 0;
			if (b.kind === 'room' && b.wanted)
				rooms.push(b.name);
		}
		if (rooms.length > 0)
			send('JOIN ' + rooms.join(','));
		/* Private conversations catch up at once. */
		for (const b of buffers.values())
			if (b.kind === 'query')
				catchUp(b);
	}

	function catchUp(b) {
		if (!b.catchUp)
			return;
		b.catchUp = false;
		const id = newestId(b);
		if (id !== '' && caps.has('draft/chathistory'))
			send('CHATHISTORY AFTER ' + b.name + ' msgid=' + id +
			    ' ' + CATCH_UP);
	}

	/* --- receiving --- */

	function receive(line) {
		const m = parse(line);
		if (m === null)
			return;
		if (m.tags.batch !== undefined) {
			const b = batches.get(m.tags.batch);
			if (b !== undefined) {
				m.batch = b;
				m.history = b.history;
				if (b.type === 'draft/multiline' &&
				    m.command !== 'BATCH') {
					b.lines.push(m);
					return;
				}
			}
		}
		const fn = handlers[m.command];
		if (fn !== undefined)
			fn(m);
		else if (/^[45]\d\d$/.test(m.command))
			error(m);
		else if (/^[23]\d\d$/.test(m.command) && registered &&
		    !QUIET.test(m.command))
			info(m.params.slice(1).join(' '));
	}

	/* Numerics not worth a line: the welcome burst, the MOTD, a
	 * topic's setter, a room's creation time. */
	const QUIET = /^(00\d|2[56]\d|37[2-6]|333|329|396)$/;

	function onBatch(m) {
		const ref = m.params[0] || '';
		const id = ref.slice(1);
		if (ref[0] === '+') {
			const b = { id: id, type: m.params[1] || '',
			    params: m.params.slice(2), tags: m.tags,
			    prefix: m.prefix, lines: [], parent: m.batch,
			    history: m.history, anchor: null };
			if (b.type === 'chathistory')
				b.history = true;
			batches.set(id, b);
			if (b.type === 'chathistory') {
				const t = historyTarget(b);
				if (t !== null)
					t.reading++;
				if (t !== null && t === current)
					b.anchor = anchor();
			}
			return;
		}
		const b = batches.get(id);
		if (b === undefined)
			return;
		batches.delete(id);
		if (b.type === 'draft/multiline') {
			multiline(b);
		} else if (b.type === 'chathistory') {
			const t = historyTarget(b);
			if (t !== null)
				t.reading = Math.max(0, t.reading - 1);
			if (b.anchor !== null && t === current)
				restore(b.anchor);
		}
	}

	/* The conversation a chathistory batch is about. */
	function historyTarget(b) {
		const name = b.params[0] || '';
		if (name === '')
			return null;
		return isRoom(name) ? findBuffer(name) :
		    openBuffer(name, 'query');
	}

	/* A draft/multiline batch, closed: one message. */
	function multiline(b) {
		let text = '';
		let cmd = 'PRIVMSG';
		b.lines.forEach((l, i) => {
			if (l.command !== 'PRIVMSG' && l.command !== 'NOTICE')
				return;
			cmd = l.command;
			if (i > 0 && l.tags['draft/multiline-concat'] ===
			    undefined)
				text += '\n';
			text += l.params[1] || '';
		});
		message({ tags: b.tags, prefix: b.prefix, command: cmd,
		    params: [b.params[0] || '', text], history: b.history,
		    batch: b.parent });
	}

	function meta(m, extra) {
		const x = { time: timeOf(m), msgid: m.tags.msgid,
		    history: m.history };
		return Object.assign(x, extra || {});
	}

	/* Where an event of a history batch goes. */
	function historyBuffer(m) {
		return m.batch ? historyTarget(m.batch) : null;
	}

	function message(m) {
		const from = nickOf(m.prefix);
		let target = m.params[0] || '';
		let text = m.params[1] || '';
		const self = nick !== '' && same(from, nick);
		/* STATUSMSG: @#room */
		while (target.length > 1 && prefixChars.indexOf(target[0]) >= 0
		    && isRoom(target.slice(1)))
			target = target.slice(1);
		let kind = m.command === 'NOTICE' ? 'notice' : 'msg';
		if (text[0] === '\x01') {
			const inner = text.slice(1).replace(/\x01$/, '');
			if (inner.toUpperCase().startsWith('ACTION')) {
				kind = 'action';
				text = inner.slice(7);
			} else {
				return;		/* other CTCP: not shown */
			}
		}
		let b;
		if (m.history && m.batch)
			b = historyBuffer(m);
		else if (isRoom(target))
			b = findBuffer(target);
		else if (isServerPrefix(m.prefix) || target === '*')
			b = current;
		else if (self)
			b = openBuffer(target, 'query');
		else
			b = openBuffer(from, 'query');
		if (!b)
			return;
		const mention = !self && kind !== 'notice' && mentions(text);
		const parts = kind === 'action' ?
		    [['', '*'], ['nick', from], ['text', text]] :
		    [['nick', from], ['text', text]];
		const line = addLine(b, kind, meta(m, { self: self,
		    mention: mention }), parts);
		if (line === null || m.history || self)
			return;
		/* A private message calls for attention like a mention. */
		if (kind !== 'notice' || b.kind === 'query')
			unread(b, line, mention || b.kind === 'query' &&
			    kind !== 'notice', from, text);
	}

	function onJoin(m) {
		const who = nickOf(m.prefix);
		const room = m.params[0] || '';
		if (m.history) {
			const b = historyBuffer(m);
			if (b)
				addLine(b, 'event join', meta(m),
				    [['nick', who], ['desc', 'has joined ' +
				    room]]);
			return;
		}
		let b = findBuffer(room);
		if (same(who, nick)) {
			b = openBuffer(room, 'room');
			if (b.name !== room)
				renameBuffer(b, room);
			b.joined = true;
			b.wanted = true;
			b.olderDone = false;
			b.members = new Map();
			if (current === null)
				select(b);
		}
		if (b === null)
			return;
		addMember(b, who, '');
		addLine(b, 'event join', meta(m, { self: same(who, nick) }),
		    [['nick', who], ['desc', 'has joined ' + room]]);
		membersChanged(b);
	}

	function onPart(m) {
		const who = nickOf(m.prefix);
		const room = m.params[0] || '';
		const reason = m.params[1] || '';
		const parts = [['nick', who], ['desc', 'has left ' + room]];
		if (reason !== '')
			parts.push(['text', reason]);
		const b = m.history ? historyBuffer(m) : findBuffer(room);
		if (!b)
			return;
		if (m.history) {
			addLine(b, 'event part', meta(m), parts);
			return;
		}
		if (same(who, nick)) {
			b.joined = false;
			b.wanted = false;
			removeBuffer(b);
			return;
		}
		b.members.delete(fold(who));
		addLine(b, 'event part', meta(m), parts);
		membersChanged(b);
	}

	function onQuit(m) {
		const who = nickOf(m.prefix);
		const reason = m.params[0] || '';
		const parts = [['nick', who], ['desc', 'has quit']];
		if (reason !== '')
			parts.push(['text', reason]);
		if (m.history) {
			const b = historyBuffer(m);
			if (b)
				addLine(b, 'event quit', meta(m), parts);
			return;
		}
		for (const b of buffers.values()) {
			if (b.members.delete(fold(who)) ||
			    b.kind === 'query' && same(b.name, who)) {
				addLine(b, 'event quit', meta(m), parts);
				membersChanged(b);
			}
		}
	}

	function onNick(m) {
		const who = nickOf(m.prefix);
		const to = m.params[0] || '';
		const parts = [['nick', who], ['desc', 'is now known as'],
		    ['nick', to]];
		if (m.history) {
			const b = historyBuffer(m);
			if (b)
				addLine(b, 'event nick', meta(m), parts);
			return;
		}
		if (same(who, nick)) {
			nick = to;
			wantNick = to;
			store('nick', to);
		}
		for (const b of buffers.values()) {
			const old = b.members.get(fold(who));
			if (old !== undefined) {
				b.members.delete(fold(who));
				b.members.set(fold(to), { nick: to,
				    modes: old.modes, away: old.away });
				addLine(b, 'event nick', meta(m), parts);
				membersChanged(b);
			} else if (b.kind === 'query' && same(b.name, who)) {
				addLine(b, 'event nick', meta(m), parts);
				renameBuffer(b, to);
			}
		}
	}

	function onKick(m) {
		const by = nickOf(m.prefix);
		const room = m.params[0] || '';
		const who = m.params[1] || '';
		const reason = m.params[2] || '';
		const parts = [['nick', who], ['desc', 'was kicked by'],
		    ['nick', by]];
		if (reason !== '')
			parts.push(['text', reason]);
		const b = m.history ? historyBuffer(m) : findBuffer(room);
		if (!b)
			return;
		addLine(b, 'event kick', meta(m), parts);
		if (m.history)
			return;
		b.members.delete(fold(who));
		if (same(who, nick)) {
			b.joined = false;
			b.wanted = false;
			b.members = new Map();
		}
		membersChanged(b);
	}

	function onTopic(m) {
		const who = nickOf(m.prefix);
		const room = m.params[0] || '';
		const text = m.params[1] || '';
		const b = m.history ? historyBuffer(m) : findBuffer(room);
		if (!b)
			return;
		addLine(b, 'event topic', meta(m), [['nick', who],
		    ['desc', text === '' ? 'removed the topic' :
		    'changed the topic to'], ['text', text]]);
		if (m.history)
			return;
		b.topic = text;
		if (b === current)
			showTopic();
	}

	function onMode(m) {
		const target = m.params[0] || '';
		if (!isRoom(target))
			return;		/* our user modes */
		const b = m.history ? historyBuffer(m) : findBuffer(target);
		if (!b)
			return;
		addLine(b, 'event mode', meta(m), [['nick', nickOf(m.prefix)],
		    ['desc', 'sets mode'], ['text',
		    m.params.slice(1).join(' ')]]);
		if (m.history)
			return;
		let sign = '+';
		let arg = 2;
		for (const ch of m.params[1] || '') {
			if (ch === '+' || ch === '-') {
				sign = ch;
				continue;
			}
			const isPrefix = prefixModes.indexOf(ch) >= 0;
			if (!(isPrefix || chanModes[0].indexOf(ch) >= 0 ||
			    chanModes[1].indexOf(ch) >= 0 ||
			    sign === '+' && chanModes[2].indexOf(ch) >= 0))
				continue;
			const p = m.params[arg++];
			if (!isPrefix || p === undefined)
				continue;
			const mem = b.members.get(fold(p));
			if (mem === undefined)
				continue;
			if (sign === '+' && mem.modes.indexOf(ch) < 0)
				mem.modes += ch;
			else if (sign === '-')
				mem.modes = mem.modes.replace(ch, '');
		}
		membersChanged(b);
	}

	function onAway(m) {
		if (m.history)
			return;
		const who = fold(nickOf(m.prefix));
		const away = (m.params[0] || '') !== '';
		for (const b of buffers.values()) {
			const mem = b.members.get(who);
			if (mem !== undefined) {
				mem.away = away;
				membersChanged(b);
			}
		}
	}

	function onCap(m) {
		const sub = (m.params[1] || '').toUpperCase();
		const more = m.params[2] === '*';
		const list = m.params[m.params.length - 1] || '';
		if (sub === 'LS' || sub === 'NEW') {
			for (const w of list.split(' ')) {
				if (w === '')
					continue;
				const eq = w.indexOf('=');
				offered.set(eq < 0 ? w : w.slice(0, eq),
				    eq < 0 ? '' : w.slice(eq + 1));
			}
			if (more)
				return;
			const want = WANT_CAPS.filter((c) => offered.has(c) &&
			    !caps.has(c));
			if (want.length > 0)
				send('CAP REQ :' + want.join(' '));
			else if (!registered)
				send('CAP END');
		} else if (sub === 'ACK') {
			for (const w of list.split(' ')) {
				if (w === '')
					continue;
				if (w[0] === '-')
					caps.delete(w.slice(1));
				else
					caps.add(w);
			}
			const ml = offered.get('draft/multiline') || '';
			for (const kv of ml.split(',')) {
				const [k, v] = kv.split('=');
				if (k === 'max-bytes' && +v > 0)
					mlMaxBytes = +v;
				if (k === 'max-lines' && +v > 0)
					mlMaxLines = +v;
			}
			if (!registered)
				send('CAP END');
		} else if (sub === 'NAK') {
			if (!registered)
				send('CAP END');
		} else if (sub === 'DEL') {
			for (const w of list.split(' '))
				caps.delete(w);
		}
	}

	function onIsupport(m) {
		for (const t of m.params.slice(1, -1)) {
			const eq = t.indexOf('=');
			const key = eq < 0 ? t : t.slice(0, eq);
			const v = eq < 0 ? '' : t.slice(eq + 1);
			if (key === 'PREFIX') {
				const p = /^\(([^)]*)\)(.*)$/.exec(v);
				if (p && p[1].length === p[2].length) {
					prefixModes = p[1];
					prefixChars = p[2];
				}
			} else if (key === 'CHANMODES') {
				const a = v.split(',');
				while (a.length < 4)
					a.push('');
				chanModes = a;
			}
		}
	}

	function onNames(m) {
		const b = findBuffer(m.params[2] || '');
		if (b === null)
			return;
		if (!b.names) {
			b.names = true;
			b.members = new Map();
		}
		for (let w of (m.params[3] || '').split(' ')) {
			if (w === '')
				continue;
			let modes = '';
			while (w.length > 0 && prefixChars.indexOf(w[0]) >= 0) {
				modes += prefixModes[prefixChars.indexOf(w[0])];
				w = w.slice(1);
			}
			addMember(b, nickOf(w), modes);
		}
	}

	function onEndOfNames(m) {
		const b = findBuffer(m.params[1] || '');
		if (b === null)
			return;
		b.names = false;
		membersChanged(b);
		if (!b.joined)
			return;
		if (b.catchUp) {
			catchUp(b);
			return;
		}
		/* natterd replays the room's last lines on JOIN, before
		 * this PING's PONG; a server that did not gets asked. */
		whenDone(() => {
			if (b.joined && oldest(b) === null &&
			    caps.has('draft/chathistory'))
				send('CHATHISTORY LATEST ' + b.name + ' * ' +
				    OLDER_PAGE);
		});
	}

	function onNickInUse(m) {
		if (registered) {
			error(m);
			return;
		}
		wantNick = (m.params[1] || wantNick) + '_';
		send('NICK ' + wantNick);
	}

	function onBadNick(m) {
		if (registered) {
			error(m);
			return;
		}
		quitting = true;
		ui.loginError.textContent = 'The server refused the nick ' +
		    wantNick + ': ' + (m.params[m.params.length - 1] || '');
		ui.loginError.hidden = false;
		send('QUIT');
		if (ws !== null)
			ws.close();
	}

	function error(m) {
		const words = m.params.slice(1);
		info(words.join(' '), 'error');
	}

	function onFail(m) {
		if ((m.params[0] || '').toUpperCase() === 'CHATHISTORY')
			return;		/* a catch-up that found nothing */
		info(m.params.slice(0, -1).join(' ') + ': ' +
		    (m.params[m.params.length - 1] || ''), 'error');
	}

	const handlers = {
		'001': welcome,
		'005': onIsupport,
		'301': (m) => {
			const b = findBuffer(m.params[1] || '');
			if (b !== null)
				addLine(b, 'info', {}, [['nick', m.params[1]],
				    ['desc', 'is away:'], ['text',
				    m.params[2] || '']]);
		},
		'331': (m) => {
			const b = findBuffer(m.params[1] || '');
			if (b !== null) {
				b.topic = '';
				if (b === current)
					showTopic();
			}
		},
		'332': (m) => {
			const b = findBuffer(m.params[1] || '');
			if (b !== null) {
				b.topic = m.params[2] || '';
				if (b === current)
					showTopic();
			}
		},
		'353': onNames,
		'366': onEndOfNames,
		'422': () => {},	/* no MOTD: nothing to say */
		'432': onBadNick,
		'433': onNickInUse,
		AWAY: onAway,
		BATCH: onBatch,
		CAP: onCap,
		ERROR: (m) => info(m.params[0] || 'Closed', 'error'),
		FAIL: onFail,
		JOIN: onJoin,
		KICK: onKick,
		MODE: onMode,
		NICK: onNick,
		NOTICE: message,
		PART: onPart,
		PING: (m) => send('PONG :' + (m.params[0] || '')),
		PONG: (m) => {
			const fn = pongs.get(m.params[m.params.length - 1]);
			if (fn !== undefined) {
				pongs.delete(m.params[m.params.length - 1]);
				fn();
			}
		},
		PRIVMSG: message,
		QUIT: onQuit,
		TOPIC: onTopic
	};

	/* --- sending --- */

	function say(target, text) {
		if (!registered) {
			info('Not connected: the line was not sent.', 'error');
			return;
		}
		const lines = text.split('\n');
		while (lines.length > 1 && lines[lines.length - 1] === '')
			lines.pop();
		/* Each line in pieces the server takes (the rest of the line
		 * continues it: draft/multiline-concat). */
		const pieces = [];
		for (const l of lines)
			chunks(l, CHUNK_BYTES).forEach((p, i) =>
			    pieces.push({ text: p, concat: i > 0 }));
		const bytes = pieces.reduce((n, p) =>
		    n + utf8Length(p.text), 0);
		if (pieces.length > 1 && caps.has('draft/multiline') &&
		    caps.has('batch') && pieces.length <= mlMaxLines &&
		    bytes <= mlMaxBytes) {
			const ref = 'ml' + (++tokens);
			send('BATCH +' + ref + ' draft/multiline ' + target);
			for (const p of pieces)
				send('@batch=' + ref + (p.concat ?
				    ';draft/multiline-concat' : '') +
				    ' PRIVMSG ' + target + ' :' + p.text);
			send('BATCH -' + ref);
		} else {
			for (const p of pieces)
				if (p.text !== '')
					send('PRIVMSG ' + target + ' :' +
					    p.text);
		}
		if (!caps.has('echo-message')) {
			const b = openBuffer(target, isRoom(target) ? 'room' :
			    'query');
			addLine(b, 'msg', { self: true }, [['nick', nick],
			    ['text', text]]);
		}
	}

	function act(target, text) {
		if (!registered) {
			info('Not connected: the line was not sent.', 'error');
			return;
		}
		send('PRIVMSG ' + target + ' :\x01ACTION ' + text + '\x01');
		if (!caps.has('echo-message'))
			addLine(openBuffer(target, isRoom(target) ? 'room' :
			    'query'), 'action', { self: true },
			    [['', '*'], ['nick', nick], ['text', text]]);
	}

	function joinRoom(name) {
		const room = roomName(name);
		if (room === '')
			return;
		const b = openBuffer(room, 'room');
		b.wanted = true;
		select(b);
		if (registered)
			send('JOIN ' + room);
	}

	function command(text) {
		const sp = text.indexOf(' ');
		const cmd = (sp < 0 ? text.slice(1) : text.slice(1, sp))
		    .toLowerCase();
		const rest = sp < 0 ? '' : text.slice(sp + 1);
		const target = current !== null ? current.name : '';
		const words = rest.split(' ').filter((w) => w !== '');
		switch (cmd) {
		case 'join':
		case 'j':
			for (const r of words.length ? words[0].split(',') : [])
				joinRoom(r);
			break;
		case 'part':
		case 'leave':
			if (current === null)
				break;
			if (current.kind === 'query') {
				removeBuffer(current);
			} else {
				current.wanted = false;
				if (!current.joined)
					removeBuffer(current);
				else
					send('PART ' + target +
					    (rest !== '' ? ' :' + rest : ''));
			}
			break;
		case 'me':
			if (target !== '')
				act(target, rest);
			break;
		case 'msg':
		case 'query':
			if (words.length === 0)
				break;
			select(openBuffer(words[0], isRoom(words[0]) ?
			    'room' : 'query'));
			if (cmd === 'msg' && words.length > 1)
				say(words[0], rest.slice(rest.indexOf(words[0]) +
				    words[0].length + 1));
			break;
		case 'nick':
			if (words.length > 0)
				send('NICK ' + words[0]);
			break;
		case 'topic':
			if (current !== null && current.kind === 'room')
				send('TOPIC ' + target +
				    (rest !== '' ? ' :' + rest : ''));
			break;
		case 'quit':
			quitting = true;
			send('QUIT :' + (rest !== '' ? rest : 'natter web'));
			break;
		case 'help':
			info(HELP);
			break;
		default:
			if (!send(text.slice(1)))
				info('Not connected: the line was not sent.',
				    'error');
		}
	}

	function submit() {
		const text = ui.input.value;
		if (text.trim() === '')
			return;
		sentLines.push(text);
		recall = sentLines.length;
		draft = '';
		ui.input.value = '';
		grow();
		if (text[0] === '/' && text[1] !== '/')
			command(text.replace(/\n[\s\S]*$/, ''));
		else if (current !== null)
			say(current.name, text[0] === '/' ? text.slice(1) :
			    text);
	}

	function grow() {
		const n = ui.input.value.split('\n').length;
		ui.input.rows = Math.min(Math.max(n, 1), 6);
	}

	function onKey(ev) {
		const t = ui.input;
		if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
			ev.preventDefault();
			submit();
			return;
		}
		if (ev.key === 'ArrowUp' && recall > 0 &&
		    t.value.lastIndexOf('\n', t.selectionStart - 1) < 0) {
			ev.preventDefault();
			if (recall === sentLines.length)
				draft = t.value;
			t.value = sentLines[--recall];
			grow();
			return;
		}
		if (ev.key === 'ArrowDown' && recall < sentLines.length &&
		    t.value.indexOf('\n', t.selectionStart) < 0) {
			ev.preventDefault();
			recall++;
			t.value = recall === sentLines.length ? draft :
			    sentLines[recall];
			grow();
		}
	}

	/* --- the page --- */

	function start(ev) {
		ev.preventDefault();
		const n = ui.nick.value.trim();
		const r = roomName(ui.room.value);
		if (n === '' || r === '')
			return;
		store('nick', n);
		store('room', ui.room.value.trim());
		wantNick = n;
		quitting = false;
		backoff = BACKOFF_MIN;
		ui.loginError.hidden = true;
		ui.connect.disabled = true;
		ui.login.hidden = true;
		ui.chat.hidden = false;
		for (const b of Array.from(buffers.values()))
			removeBuffer(b);
		nick = '';
		joinRoom(r);
		connect();
	}

	function notifyButton() {
		ui.notify.hidden = !('Notification' in window) ||
		    Notification.permission !== 'default';
	}

	ui.nick.value = recalled('nick');
	ui.room.value = recalled('room');
	ui.login.addEventListener('submit', start);
	ui.sendForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		submit();
		ui.input.focus();
	});
	ui.input.addEventListener('keydown', onKey);
	ui.input.addEventListener('input', grow);
	ui.log.addEventListener('scroll', () => {
		if (ui.log.scrollTop <= 40)
			maybeOlder();
	});
	ui.nicksButton.addEventListener('click', () =>
	    document.body.classList.toggle('shownicks'));
	ui.nicklist.addEventListener('click', (ev) => {
		const li = ev.target.closest('li.member');
		if (li !== null && !same(li.dataset.nick, nick)) {
			select(openBuffer(li.dataset.nick, 'query'));
			document.body.classList.remove('shownicks');
		}
	});
	ui.notify.addEventListener('click', () => {
		Notification.requestPermission().then(notifyButton,
		    notifyButton);
	});
	document.addEventListener('visibilitychange', () => {
		if (!document.hidden && current !== null)
			seen(current);
	});
	notifyButton();
	if (ui.nick.value === '')
		ui.nick.focus();
	else
		ui.room.focus();
}());
