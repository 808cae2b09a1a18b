/*
 * Majlis web chat client.
 *
 * 1. A minimal Socket.IO v5 client over the Engine.IO v4 WebSocket transport
 *    (written for Majlis; no third-party code): open "0" -> connect "40",
 *    ping "2" -> pong "3", events "42[name, data]", acknowledgements "43<id>[...]".
 * 2. The chat UI: right-to-left per message, buttons, images, typing indicator,
 *    agent-joined notices.
 *
 * Everything the customer or the bot writes is inserted with textContent, never
 * parsed as HTML; image URLs must be http(s).
 *
 * Sessions are issued by the server: the page keeps the session token it was given
 * (localStorage "majlis.session_token") and presents it on every reconnect; a token
 * the server refuses is dropped and a new session requested.  An operator site may
 * open the page as ".../webchat/#identity=<JWT>": the JWT stays in memory (removed
 * from the address bar) and is sent with each session request.
 */
(function () {
  "use strict";

  var root = document.getElementById("majlis-chat");
  var log = document.getElementById("majlis-log");
  var typing = document.getElementById("majlis-typing");
  var form = document.getElementById("majlis-form");
  var input = document.getElementById("majlis-input");
  var statusDot = document.getElementById("majlis-status");
  var params = new URLSearchParams(window.location.search);
  var USER_EVENT = root.dataset.userEvent || "user_uttered";
  var BOT_EVENT = root.dataset.botEvent || "bot_uttered";
  var ARABIC_LETTER = /[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFC]/g;
  var LATIN_LETTER = /[A-Za-z\u00C0-\u024F]/g;
  var NOTICES = {
    agent_joined: "انضم إليك موظف خدمة العملاء · A customer-care agent has joined",
    agent_left: "عدت إلى المساعد الرقمي · You are back with the assistant",
    refused: "لم تُرسل الرسالة · Message not sent",
    rate_limited: "رسائل كثيرة، سنعيد الإرسال بعد لحظات · Too many messages, sending again shortly",
    origin_not_allowed: "لا يمكن فتح المحادثة من هذه الصفحة · The chat cannot be opened from this page",
  };

  if (params.get("lang") === "en") {
    document.documentElement.lang = "en";
    document.documentElement.dir = "ltr";
  }

  // -- session and where the customer came from -------------------------------
  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  var TOKEN_KEY = "majlis.session_token";
  var memoryToken = null;  // storage disabled: the session lasts as long as the page

  function storedToken() {
    try { return window.localStorage.getItem(TOKEN_KEY) || memoryToken; } catch (e) { return memoryToken; }
  }

  function keepToken(token) {
    memoryToken = token;
    try {
      if (token) { window.localStorage.setItem(TOKEN_KEY, token); } else { window.localStorage.removeItem(TOKEN_KEY); }
      window.localStorage.removeItem("majlis.session");  // older pages chose their own id
    } catch (e) { /* storage disabled */ }
  }

  function takeIdentity() {
    var match = /(?:^#|&)identity=([^&]+)/.exec(window.location.hash || "");
    if (!match) { return null; }
    try { window.history.replaceState(null, "", window.location.pathname + window.location.search); } catch (e) { /* ignore */ }
    return decodeURIComponent(match[1]);
  }

  var identity = takeIdentity();
  var entrySource = null;
  if (params.get("src") || params.get("ref")) {
    entrySource = { source: params.get("src"), campaign: params.get("campaign"), ref: params.get("ref") };
  }

  // -- direction ---------------------------------------------------------------
  function direction(text) {
    var arabic = (text.match(ARABIC_LETTER) || []).length;
    var latin = (text.match(LATIN_LETTER) || []).length;
    if (!arabic && !latin) { return document.documentElement.dir || "rtl"; }
    return arabic >= latin ? "rtl" : "ltr";
  }

  // -- rendering (textContent only) ------------------------------------------------
  function scroll() { log.scrollTop = log.scrollHeight; }

  function bubble(kind, text) {
    var el = document.createElement("div");
    el.className = "msg " + kind;
    el.dir = direction(text);
    el.textContent = text;
    log.appendChild(el);
    scroll();
    return el;
  }

  function notice(text) {
    var el = document.createElement("div");
    el.className = "notice";
    el.setAttribute("role", "status");
    el.textContent = text;
    log.appendChild(el);
    scroll();
  }

  function image(url) {
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) { return; }
    var wrap = document.createElement("div");
    wrap.className = "msg bot";
    var img = document.createElement("img");
    img.src = url;
    img.alt = "";
    img.loading = "lazy";
    wrap.appendChild(img);
    log.appendChild(wrap);
    scroll();
  }

  function buttons(list) {
    var group = document.createElement("div");
    group.className = "buttons";
    list.forEach(function (item) {
      var title = String(item.title || item.payload || "");
      var button = document.createElement("button");
      button.type = "button";
      button.dir = direction(title);
      button.textContent = title;
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
        send(String(item.payload || title), title);
      });
      group.appendChild(button);
    });
    log.appendChild(group);
    scroll();
  }

  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(showTyping.timer);
    if (on) { showTyping.timer = setTimeout(function () { typing.hidden = true; }, 20000); }
    scroll();
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") { return; }
    showTyping(false);
    var custom = data.custom;
    if (custom && typeof custom === "object" && NOTICES[custom.majlis] && custom.majlis !== "refused") {
      var name = custom.agent && typeof custom.agent.name === "string" ? " (" + custom.agent.name + ")" : "";
      notice(NOTICES[custom.majlis] + name);
      return;
    }
    if (typeof data.text === "string" && data.text) { bubble("bot", data.text); }
    var attachment = data.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) {
      image(attachment.payload.src || attachment.payload.url);
    }
    var replies = data.quick_replies || data.buttons;
    if (Array.isArray(replies) && replies.length) { buttons(replies); }
  }

  // -- socket.io over a WebSocket ---------------------------------------------------
  function Connection(path, handlers) {
    this.path = path.replace(/\/+$/, "");
    this.handlers = handlers;
    this.acks = {};
    this.nextAck = 1;
    this.ready = false;
    this.retry = 0;
    this.open();
  }

  Connection.prototype.open = function () {
    var self = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + this.path + "/?EIO=4&transport=websocket");
    this.ws = ws;
    ws.onmessage = function (event) { self.frame(String(event.data)); };
    ws.onclose = function () {
      self.ready = false;
      self.handlers.state(false);
      var delay = Math.min(30000, 500 * Math.pow(2, self.retry++));
      setTimeout(function () { self.open(); }, delay);
    };
  };

  Connection.prototype.frame = function (data) {
    if (data === "2") { this.ws.send("3"); return; }           // ping -> pong
    if (data.charAt(0) === "0") { this.ws.send("40"); return; } // engine.io open -> socket.io connect
    if (data.charAt(0) !== "4") { return; }
    var type = data.charAt(1);
    var rest = data.slice(2);
    if (rest.charAt(0) === "/") { rest = rest.slice(rest.indexOf(",") + 1); }  // namespaced packet
    if (type === "0") { this.ready = true; this.retry = 0; this.handlers.state(true); return; }
    if (type === "4") {  // connect_error: origin refused or too many connections; the socket closes
      var error = {};
      try { error = JSON.parse(rest) || {}; } catch (e) { /* ignore */ }
      this.handlers.refused(String(error.message || ""));
      return;
    }
    if (type !== "2" && type !== "3") { return; }
    var start = rest.indexOf("[");
    var id = rest.slice(0, start);
    var args = JSON.parse(rest.slice(start));
    if (type === "2") { this.handlers.event(args[0], args[1]); return; }
    var callback = this.acks[id];
    delete this.acks[id];
    if (callback) { callback(args[0]); }
  };

  Connection.prototype.emit = function (name, data, onAck) {
    if (!this.ready) { return false; }
    var id = "";
    if (onAck) { id = String(this.nextAck++); this.acks[id] = onAck; }
    this.ws.send("42" + id + JSON.stringify([name, data]));
    return true;
  };

  // -- sending: kept until the server acknowledges it (re-sent after a reconnect) ----
  // The server stores a re-sent message once (same message_id in the same session).
  var unconfirmed = [];
  var confirmed = false;

  function transmit(item) {
    connection.emit(USER_EVENT, item, function (answer) {
      if (answer && answer.error === "rate_limited") {
        setTimeout(function () { if (confirmed) { transmit(item); } }, 1000 * Math.max(1, answer.retry_after || 1));
        return;
      }
      unconfirmed = unconfirmed.filter(function (other) { return other.message_id !== item.message_id; });
      if (!answer || !answer.accepted) { notice(NOTICES.refused); }
    });
  }

  function send(text, displayText) {
    text = text.trim();
    if (!text) { return; }
    bubble("user", displayText || text);
    var metadata = { display_text: displayText || text };
    if (entrySource) { metadata.entry_source = entrySource; }
    var item = { message: text, message_id: newId(), metadata: metadata };
    unconfirmed.push(item);
    if (confirmed) { transmit(item); }
    showTyping(true);
  }

  function requestSession() {
    var request = {};
    var token = storedToken();
    if (token) { request.token = token; }
    if (identity) { request.identity = identity; }
    connection.emit("session_request", request);
  }

  var connection = new Connection(root.dataset.socketPath || "/socket.io", {
    state: function (online) {
      statusDot.classList.toggle("online", online);
      confirmed = false;
      if (online) { requestSession(); }
    },
    refused: function (reason) {
      if (NOTICES[reason]) { notice(NOTICES[reason]); }
    },
    event: function (name, data) {
      if (name === "session_confirm") {
        if (data && typeof data.token === "string") { keepToken(data.token); }
        confirmed = true;
        unconfirmed.slice().forEach(transmit);
      } else if (name === "session_refused") {
        keepToken(null);  // not a session of this server (any more): start a new one
        requestSession();
      } else if (name === "rate_limited") {
        notice(NOTICES.rate_limited);
      } else if (name === BOT_EVENT) {
        onBotMessage(data);
      } else if (name === "bot_typing") {
        showTyping(Boolean(data && data.typing));
      }
    },
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
