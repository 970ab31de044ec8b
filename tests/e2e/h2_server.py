"""A scriptable HTTP/2 (h2c, prior knowledge) server for test_http2.py, with python3-h2
(Debian's python3-h2: the framing is the library's, never hand-written here).

    with H2Server(mode) as s:   # listens on 127.0.0.1, a free port; s.url(path)
        ...
    s.requests      [(conn_no, stream_id, method, path, body, headers)] every request
                    whose headers came (body: what came before the stream ended, or None;
                    headers: [(name, value)] as received)
    s.answered      requests answered with a whole response
    s.connections   connections accepted
    s.max_open      the most streams open at once (after our SETTINGS were acknowledged)
    s.violations    what the client did wrong (h2 raised a ProtocolError), as strings
    s.resets        RST_STREAM codes the client sent

Modes (what the server does; anything not listed answers 200, body "ok\\n" or, for a
request with a body, that body; a path under /setcookie gets two Set-Cookie fields):
    ok              nothing special
    goaway_first    on connection 1: at the first request's headers, GOAWAY(last_stream_id
                    0, NO_ERROR) and no answer; later connections answer
    goaway_first:C  the same with error code C (a name or a number)
    goaway_always[:C] as goaway_first:C on every connection (a request is never processed)
    goaway_graceful on connection 1: at the first request's headers, GOAWAY(last_stream_id
                    = that stream, NO_ERROR), then the answer; later connections answer
    goaway_after    every answer is followed by GOAWAY(last_stream_id = that stream) and
                    the connection's close 100 ms later
    rst:CODE        every stream is reset with CODE (an h2.errors.ErrorCodes name, or a
                    number)
    refuse_first    the very first stream is reset with REFUSED_STREAM; the rest answered
    refuse_always   every stream is reset with REFUSED_STREAM
    garbage         after the client's preface: our SETTINGS then a DATA frame on stream 0
                    (a connection error, PROTOCOL_ERROR)
    junk            answers the preface with "HTTP/1.1 400 Bad Request" bytes
    big:N           path /big gets an N-byte body (in flow-controlled DATA frames) with
                    Content-Length, sent before the other streams' answers; others "ok\\n"
    bigstream:N     as big:N, without Content-Length (the limit is met mid-body)
    silent          reads everything, never answers
    close_mid       answers HEADERS (content-length 100000) and 1000 bytes, then closes
    max2            SETTINGS_MAX_CONCURRENT_STREAMS = 2; answers 20 ms after a request
    delay           answers 20 ms after a request (streams stay open meanwhile)
    trailers        the answer ends with a trailer section (HEADERS after DATA)
    early_hints     a 103 (Early Hints) informational response before the 200
    bigheaders      the answer has a 40 kB header field (CONTINUATION frames)
    manyheaders     the answer has 150 header fields (past HTTP/1.1's limit of 100)
    truncated       HEADERS (content-length 1000), 10 bytes of DATA, then RST_STREAM NO_ERROR
    goaway_keep     every answer is followed by GOAWAY(last_stream_id = that stream), and
                    the server never closes: the client must
    status000       the answer's :status is "000"
    ping            a PING before each answer (s.ping_acks counts the client's ACKs)
    smallwindow     SETTINGS_INITIAL_WINDOW_SIZE 1000 and MAX_FRAME_SIZE 16384: request
                    bodies must come in flow-controlled pieces
    max0            SETTINGS_MAX_CONCURRENT_STREAMS = 0 (nothing may be sent)
    badheader       the answer carries a connection-specific field (Connection: close),
                    malformed in HTTP/2 (RFC 9113 §8.2.2)
    cl_mismatch     the answer says content-length 10 and sends 3 bytes
    early_response  answers a request at its headers and resets the stream with
                    NO_ERROR when its body has not all come (RFC 9113 §8.1)
    push            a PUSH_PROMISE (+ pushed response) before each answer, when the
                    client allows push (s.client_settings says whether it does)
"""

import select
import socket
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hyperframe.frame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class H2Server:
    def __init__(self, mode="ok"):
        self.mode = mode
        self.lock = threading.Lock()
        self.requests = []
        self.answered = 0
        self.connections = 0
        self.max_open = 0
        self.violations = []
        self.resets = []
        self.ping_acks = 0
        self.client_settings = {}
        self.pushed = 0
        self._stop = threading.Event()
        self._threads = []
        self._socks = []
        self.sock = None
        self.port = None

    # -- life cycle -------------------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in list(self._threads):
            t.join(5)
        self.sock.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def methods(self):
        with self.lock:
            return [r[2] for r in self.requests]

    # -- serving ----------------------------------------------------------------------
    def _accept(self):
        while not self._stop.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                no = self.connections
            self._socks.append(s)
            t = threading.Thread(target=self._serve, args=(s, no), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, s, no):
        try:
            _Conn(self, s, no).run()
        except OSError:
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass


class _Conn:
    def __init__(self, server, sock, no):
        self.srv = server
        self.sock = sock
        self.no = no
        self.mode = server.mode
        lax = self.mode in ("badheader", "cl_mismatch", "status000", "truncated")
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_inbound_headers=True,
                                        validate_outbound_headers=not lax,
                                        normalize_outbound_headers=not lax)
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.streams = {}     # stream id -> {"method", "path", "body"}
        self.due = []         # (time, stream id): answers held back (max2)
        self.pending = {}     # stream id -> bytes of body still to send (flow control)
        self.order = []       # stream ids whose answer waits behind a big one
        self.acked = False
        self.closing = False  # True: GOAWAY sent, no more answers; a string: answers go on
        self.close_at = None

    def hold(self, limit=10.0):
        """Keep the connection open until the client closes it (or `limit` s)."""
        end = time.monotonic() + limit
        self.sock.settimeout(0.05)
        while time.monotonic() < end and not self.srv._stop.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def send(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def run(self):
        sock = self.sock
        if self.mode == "junk":
            sock.settimeout(2)
            try:
                sock.recv(65536)
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                self.hold()
            except OSError:
                pass
            return
        settings = {}
        if self.mode == "max2":
            settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 2
        if self.mode == "max0":
            settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 0
        if self.mode == "smallwindow":
            settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = 1000
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        self.send()
        if self.mode == "garbage":
            sock.settimeout(2)
            try:
                sock.recv(65536)  # the client's preface
                # DATA (type 0) on stream 0: a connection error (RFC 9113 §6.1)
                sock.sendall(b"\x00\x00\x04\x00\x00\x00\x00\x00\x00garb")
                self.hold()
            except OSError:
                pass
            return
        deadline_idle = None
        while not self.srv._stop.is_set():
            timeout = 0.05
            if self.due:
                timeout = max(0.0, min(t for t, _ in self.due) - time.monotonic())
            r, _, _ = select.select([sock], [], [], min(timeout, 0.05))
            if r:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    if self.closing:  # frames the client sent before it saw our GOAWAY
                        return
                    with self.srv.lock:
                        self.srv.violations.append(f"conn {self.no}: {type(e).__name__}: {e}")
                    try:
                        self.send()
                    except OSError:
                        pass
                    return
                for ev in events:
                    self.event(ev)
                    if self.closing == "now":
                        break
                if self.closing == "now":
                    self.send()
                    return
            now = time.monotonic()
            for item in [d for d in self.due if d[0] <= now]:
                self.due.remove(item)
                self.answer(item[1])
            self.flush_pending()
            self.send()
            if self.closing == "after" and time.monotonic() > self.close_at:
                return
            if self.closing is True:
                if deadline_idle is None:
                    deadline_idle = time.monotonic() + 2.0
                elif time.monotonic() > deadline_idle:
                    return

    # -- events -----------------------------------------------------------------------
    def event(self, ev):
        srv = self.srv
        if isinstance(ev, h2.events.RequestReceived):
            h = dict(ev.headers)
            st = {"method": h.get(":method"), "path": h.get(":path"), "body": None,
                  "chunks": []}
            self.streams[ev.stream_id] = st
            with srv.lock:
                st["index"] = len(srv.requests)
                srv.requests.append([self.no, ev.stream_id, st["method"], st["path"], None,
                                     list(ev.headers)])
                if self.acked:
                    srv.max_open = max(srv.max_open, self.h2.open_inbound_streams)
            self.on_headers(ev.stream_id, st)
        elif isinstance(ev, h2.events.DataReceived):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st["chunks"].append(ev.data)
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st["body"] = b"".join(st["chunks"])
                with srv.lock:
                    srv.requests[st["index"]][4] = st["body"]
                self.on_request(ev.stream_id, st)
        elif isinstance(ev, h2.events.StreamReset):
            with srv.lock:
                srv.resets.append(ev.error_code)
            self.pending.pop(ev.stream_id, None)
            self.streams.pop(ev.stream_id, None)
        elif isinstance(ev, h2.events.SettingsAcknowledged):
            self.acked = True
        elif isinstance(ev, h2.events.WindowUpdated):
            pass
        elif isinstance(ev, h2.events.PingAckReceived):
            with srv.lock:
                srv.ping_acks += 1
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            with srv.lock:
                for code, ch in ev.changed_settings.items():
                    srv.client_settings[int(code)] = ch.new_value

    def on_headers(self, sid, st):
        mode = self.mode
        if (mode.startswith("goaway_first") and self.no == 1) or \
                mode.startswith("goaway_always"):
            name = mode.partition(":")[2] or "NO_ERROR"
            code = int(name) if name.isdigit() else h2.errors.ErrorCodes[name]
            self.h2.close_connection(error_code=code, last_stream_id=0)
            self.closing = True
        elif mode == "goaway_graceful" and self.no == 1 and not self.closing:
            # python-h2 sends nothing after its own GOAWAY: this one is written beside it
            # (hyperframe, h2's framing library), and h2 goes on answering stream sid
            self.send()
            self.sock.sendall(hyperframe.frame.GoAwayFrame(
                0, last_stream_id=sid, error_code=0).serialize())
            self.closing = "graceful"
        elif mode.startswith("rst:"):
            name = mode[4:]
            code = int(name) if name.isdigit() else h2.errors.ErrorCodes[name]
            self.h2.reset_stream(sid, error_code=code)
            self.streams.pop(sid, None)
        elif mode == "early_response":
            self.h2.send_headers(sid, [(":status", "200"), ("content-length", "6")])
            self.h2.send_data(sid, b"early\n", end_stream=True)
            self.send()
            with self.srv.lock:
                self.srv.answered += 1
            self.streams.pop(sid, None)
            try:
                self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.NO_ERROR)
            except h2.exceptions.ProtocolError:
                pass  # the request had ended already: its stream is closed
        elif mode == "refuse_always" or \
                (mode == "refuse_first" and self.srv.requests[0][:2] == [self.no, sid]):
            self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
            self.streams.pop(sid, None)

    def on_request(self, sid, st):
        if sid not in self.streams or self.closing is True:
            return
        mode = self.mode
        if mode == "silent":
            return
        if mode in ("max2", "delay"):
            self.due.append((time.monotonic() + 0.02, sid))
            return
        if mode == "close_mid":
            self.h2.send_headers(sid, [(":status", "200"), ("content-length", "100000")])
            self.h2.send_data(sid, b"x" * 1000)
            self.send()
            self.closing = "now"
            return
        big = mode.startswith(("big:", "bigstream:"))
        if big and st["path"].startswith("/big"):
            n = int(mode.split(":")[1])
            headers = [(":status", "200")]
            if mode.startswith("big:"):
                headers.append(("content-length", str(n)))
            self.h2.send_headers(sid, headers)
            self.pending[sid] = [b"b" * n, False]
            self.flush_pending()
            return
        if big and self.pending:
            self.order.append(sid)  # answered once the big body has gone
            return
        self.answer(sid)

    def answer(self, sid):
        st = self.streams.get(sid)
        if st is None:
            return
        body = st["body"] if st["body"] else b"ok\n"
        mode = self.mode
        headers = [(":status", "200"), ("content-length", str(len(body))),
                   ("content-type", "text/plain")]
        if st["path"].startswith("/setcookie"):
            headers += [("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2; Path=/")]
        if mode == "bigheaders":
            headers.append(("x-big", "h" * 40000))
        if mode == "manyheaders":
            headers += [(f"x-h{i}", "v") for i in range(150)]
        if mode == "status000":
            headers[0] = (":status", "000")
        if mode == "badheader":
            headers.append(("connection", "close"))
        if mode == "truncated":
            headers[1] = ("content-length", "1000")
        if mode == "cl_mismatch":
            headers[1] = ("content-length", str(len(body) + 7))
        if mode == "trailers":
            del headers[1]  # no content-length: the trailers follow the data
        try:
            if mode == "ping":
                self.h2.ping(b"stampede")
            if mode == "early_hints":
                self.h2.send_headers(sid, [(":status", "103"),
                                           ("link", "</style.css>; rel=preload")])
            if mode == "push" and self.h2.remote_settings.enable_push:
                pid = self.h2.get_next_available_stream_id()
                self.h2.push_stream(sid, pid, [(":method", "GET"), (":path", "/pushed"),
                                               (":scheme", "http"),
                                               (":authority", "127.0.0.1")])
                self.h2.send_headers(pid, [(":status", "200"), ("content-length", "7")])
                self.h2.send_data(pid, b"pushed\n", end_stream=True)
                with self.srv.lock:
                    self.srv.pushed += 1
            self.h2.send_headers(sid, headers)
        except h2.exceptions.ProtocolError:
            self.streams.pop(sid, None)
            return  # the client reset it meanwhile
        if mode == "truncated":
            self.h2.send_data(sid, b"x" * 10)
            self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.NO_ERROR)
            self.streams.pop(sid, None)
            self.send()
            return
        if mode == "goaway_keep":
            self.h2.send_data(sid, body, end_stream=True)
            self.streams.pop(sid, None)
            with self.srv.lock:
                self.srv.answered += 1
            self.send()
            self.sock.sendall(hyperframe.frame.GoAwayFrame(
                0, last_stream_id=sid, error_code=0).serialize())
            return
        if mode == "goaway_after":
            self.h2.send_data(sid, body, end_stream=True)
            self.streams.pop(sid, None)
            with self.srv.lock:
                self.srv.answered += 1
            self.h2.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR,
                                     last_stream_id=sid)
            self.closing = "after"
            self.close_at = time.monotonic() + 0.1
            return
        if mode == "trailers":
            self.h2.send_data(sid, body)
            self.h2.send_headers(sid, [("x-checksum", "abc")], end_stream=True)
            self.streams.pop(sid, None)
            with self.srv.lock:
                self.srv.answered += 1
            return
        self.pending[sid] = [body, True]
        self.flush_pending()

    def flush_pending(self):
        """Send what flow control allows of the bodies in self.pending; a whole one
        counts in answered when it was an answer (not a /big body)."""
        for sid in list(self.pending):
            data, counts = self.pending[sid]
            done = False
            try:
                while data:
                    window = self.h2.local_flow_control_window(sid)
                    n = min(window, self.h2.max_outbound_frame_size, len(data))
                    if n <= 0:
                        break
                    self.h2.send_data(sid, data[:n], end_stream=n == len(data))
                    data = data[n:]
                done = not data
            except h2.exceptions.ProtocolError:
                data, counts = b"", False  # reset by the client: stop sending
            if data:
                self.pending[sid][0] = data
                continue
            del self.pending[sid]
            self.streams.pop(sid, None)
            if done and counts:
                with self.srv.lock:
                    self.srv.answered += 1
        if not self.pending and self.order:
            order, self.order = self.order, []
            for sid in order:
                self.answer(sid)
