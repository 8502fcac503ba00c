/*
 * Web chat widget of the spine procedure FAQ assistant.
 *
 * Embed on any page with one tag (served by the Rasa server, nothing from a CDN):
 *   <script src="http://RASA_HOST:5005/webhooks/webchat/widget.js"
 *           data-server="http://RASA_HOST:5005" defer></script>
 * Optional: data-open="true" opens the chat on a patient's first visit.
 *
 * It talks to Rasa's socket.io channel (session_persistence: true). Rasa does not
 * resend history, so the transcript is kept in localStorage under the session id and
 * drawn again after a reload; "Restart conversation" forgets it and starts a new
 * session id. The widget lives in a shadow root so a clinic site's CSS cannot break
 * it, and all bot and patient text is inserted as text nodes, never as HTML.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || window.__spineFaqChatLoaded) return;
  window.__spineFaqChatLoaded = true;

  const ASSET_BASE = new URL(".", script.src).href;
  const SERVER = (script.dataset.server || new URL(script.src).origin).replace(/\/+$/, "");
  const STORE_PREFIX = "spine-faq-chat:" + SERVER + ":";
  const MAX_ENTRIES = 300; // keeps localStorage well under its quota
  const REPLY_TIMEOUT_MS = 30000;

  // Same defaults as bot/settings.py, used only if config.json cannot be fetched.
  const DEFAULTS = {
    name: "your spine clinic",
    phone: "the phone number on your appointment letter",
    title: "Spine procedure questions",
    primary_color: "#1f5f8b",
    welcome:
      "Hi! I answer common questions about facet joint injections, medial branch blocks" +
      " and radiofrequency ablation.",
    starters: [],
  };

  // ---- storage: localStorage survives reloads; fall back to memory where it is blocked.
  const memory = {};
  const store = {
    get(key) {
      try {
        return window.localStorage.getItem(STORE_PREFIX + key);
      } catch (e) {
        return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(STORE_PREFIX + key, value);
      } catch (e) {
        memory[key] = value;
      }
    },
    remove(key) {
      try {
        window.localStorage.removeItem(STORE_PREFIX + key);
      } catch (e) {
        delete memory[key];
      }
    },
  };

  function randomId() {
    // crypto.randomUUID needs a secure context; a clinic may serve plain http.
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function tabId() {
    // One id per browser tab (kept across reloads of that tab).
    try {
      let id = window.sessionStorage.getItem(STORE_PREFIX + "tab");
      if (!id) {
        id = randomId();
        window.sessionStorage.setItem(STORE_PREFIX + "tab", id);
      }
      return id;
    } catch (e) {
      return "single-tab";
    }
  }

  // ---- DOM helpers: properties and text only, so no bot or patient text is parsed as HTML.
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((key) => {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach((child) => {
      node.append(child);
    });
    return node;
  }

  /** A speech-bubble icon (decorative: the button's text names it). */
  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "wc-launcher-icon");
    const path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"
    );
    svg.append(path);
    return svg;
  }

  const URL_PATTERN = /https?:\/\/[^\s<>"]+/g;

  /** Text with http(s) URLs turned into links (trailing punctuation stays text). */
  function linkified(text) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    text.replace(URL_PATTERN, (match, offset) => {
      const url = match.replace(/[.,;:!?)\]'"]+$/, "");
      fragment.append(document.createTextNode(text.slice(last, offset)));
      fragment.append(
        el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url })
      );
      last = offset + url.length;
      return match;
    });
    fragment.append(document.createTextNode(text.slice(last)));
    return fragment;
  }

  const SOURCE_LINE = /^Sources?:/;

  /** A bot paragraph: "- " lines become a list, "Source:" gets its own element. */
  function renderParagraph(paragraph) {
    const nodes = [];
    if (SOURCE_LINE.test(paragraph)) {
      const label = paragraph.match(SOURCE_LINE)[0];
      const line = el("p", { className: "wc-source" }, [el("strong", { text: label })]);
      line.append(linkified(paragraph.slice(label.length)));
      return [line];
    }
    let list = null;
    let lines = [];
    const flush = () => {
      if (lines.length) {
        const p = el("p");
        lines.forEach((line, i) => {
          if (i) p.append(el("br"));
          p.append(linkified(line));
        });
        nodes.push(p);
        lines = [];
      }
    };
    paragraph.split("\n").forEach((line) => {
      if (/^\s*[-•]\s+/.test(line)) {
        flush();
        if (!list) {
          list = el("ul");
          nodes.push(list);
        }
        list.append(el("li", {}, [linkified(line.replace(/^\s*[-•]\s+/, ""))]));
      } else if (line.trim()) {
        list = null;
        lines.push(line);
      }
    });
    flush();
    return nodes;
  }

  function renderBotText(container, text) {
    text
      .split(/\n{2,}/)
      .filter((part) => part.trim())
      .forEach((part) => {
        renderParagraph(part.trim()).forEach((node) => container.append(node));
      });
  }

  function validColor(value) {
    return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value || "") ? value : DEFAULTS.primary_color;
  }

  function luminance(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    const channel = (i) => {
      const c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  }

  /** White or near-black text, whichever contrasts more with the clinic's colour. */
  function textColorOn(hex) {
    const l = luminance(hex);
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
  }

  // ---- state
  const state = {
    config: Object.assign({}, DEFAULTS),
    sessionId: null,
    transcript: [], // [{from: "user"|"bot", text, buttons?: [{title, payload}], urgency?}]
    socket: null,
    ready: false, // session confirmed: messages sent now are answered in this room
    queue: [],
    waiting: false,
    replyTimer: null,
    tab: tabId(),
  };

  function transcriptKey() {
    return "transcript:" + state.sessionId;
  }

  function loadSession() {
    state.sessionId = store.get("session");
    if (!state.sessionId) {
      state.sessionId = randomId();
      store.set("session", state.sessionId);
    }
    try {
      const saved = JSON.parse(store.get(transcriptKey()) || "[]");
      // Stored by an older widget or edited by hand: keep only entries we can draw.
      state.transcript = (Array.isArray(saved) ? saved : []).filter(
        (entry) =>
          entry && (entry.from === "user" || entry.from === "bot") && typeof entry.text === "string"
      );
    } catch (e) {
      state.transcript = [];
    }
  }

  function saveTranscript() {
    state.transcript = state.transcript.slice(-MAX_ENTRIES);
    store.set(transcriptKey(), JSON.stringify(state.transcript));
  }

  // ---- UI
  const ui = {};

  function build() {
    const host = el("div", { id: "spine-faq-chat" });
    host.style.display = "none"; // until the stylesheet is in, so nothing flashes unstyled
    const root = host.attachShadow({ mode: "open" });
    const stylesheet = el("link", { rel: "stylesheet", href: ASSET_BASE + "widget.css" });
    const reveal = () => {
      host.style.display = "";
    };
    stylesheet.addEventListener("load", reveal);
    stylesheet.addEventListener("error", reveal);
    root.append(stylesheet);

    ui.launcherLabel = el("span", { className: "wc-launcher-label" });
    ui.launcher = el(
      "button",
      {
        type: "button",
        className: "wc-launcher",
        "aria-expanded": "false",
        "aria-controls": "wc-panel",
      },
      [chatIcon(), ui.launcherLabel]
    );

    ui.title = el("h2", { id: "wc-title", className: "wc-title" });
    ui.subtitle = el("p", { className: "wc-subtitle" });
    ui.close = el("button", { type: "button", className: "wc-close", "aria-label": "Close chat" }, [
      el("span", { "aria-hidden": "true", text: "\u00d7" }),
    ]);
    const header = el("header", { className: "wc-header" }, [
      el("div", { className: "wc-heading" }, [ui.title, ui.subtitle]),
      ui.close,
    ]);

    ui.log = el("div", {
      className: "wc-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Conversation",
      tabindex: "0",
    });
    ui.status = el("p", { className: "wc-status", role: "status" });

    ui.input = el("input", {
      id: "wc-input",
      className: "wc-input",
      type: "text",
      autocomplete: "off",
      enterkeyhint: "send",
      maxlength: "500",
    });
    ui.send = el("button", { type: "submit", className: "wc-send", text: "Send" });
    ui.form = el("form", { className: "wc-form" }, [
      el("label", { for: "wc-input", className: "wc-label", text: "Type your question" }),
      el("div", { className: "wc-row" }, [ui.input, ui.send]),
    ]);

    ui.suggestionsLabel = el("p", {
      id: "wc-suggestions-label",
      className: "wc-suggestions-label",
    });
    ui.chips = el("div", { className: "wc-chips" });
    ui.suggestions = el(
      "div",
      { className: "wc-suggestions", role: "group", "aria-labelledby": "wc-suggestions-label" },
      [ui.suggestionsLabel, ui.chips]
    );

    ui.restart = el("button", {
      type: "button",
      className: "wc-restart",
      text: "Restart conversation",
    });
    const footer = el("footer", { className: "wc-footer" }, [
      ui.restart,
      el("p", {
        className: "wc-disclaimer",
        text: "General information, not medical advice. In an emergency, call 911.",
      }),
    ]);

    ui.panel = el(
      "section",
      {
        id: "wc-panel",
        className: "wc-panel",
        role: "region",
        "aria-labelledby": "wc-title",
        hidden: true,
      },
      [header, ui.log, ui.status, ui.form, ui.suggestions, footer]
    );
    ui.wrapper = el("div", { className: "wc" }, [ui.launcher, ui.panel]);
    root.append(ui.wrapper);

    ui.launcher.addEventListener("click", () => setOpen(ui.panel.hidden));
    ui.close.addEventListener("click", () => setOpen(false));
    ui.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") setOpen(false);
      if (event.key === "Tab") keepFocusInside(event);
    });
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = ui.input.value.trim();
      if (!text) return;
      ui.input.value = "";
      send(text, text);
    });
    ui.restart.addEventListener("click", restart);
    window.addEventListener("storage", onStorage);
    document.body.append(host);
  }

  // On a phone the open chat covers the whole page: Tab must not wander to the page
  // hidden behind it, so it wraps around inside the chat (a modal dialog's behaviour).
  const COVERS_PAGE = "(max-width: 480px)";

  function keepFocusInside(event) {
    if (!window.matchMedia(COVERS_PAGE).matches) return;
    const focusable = Array.from(
      ui.panel.querySelectorAll("button, input, a[href], [tabindex]:not([tabindex='-1'])")
    ).filter((node) => !node.disabled && node.offsetParent !== null);
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = ui.panel.getRootNode().activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function applyConfig() {
    const c = state.config;
    const color = validColor(c.primary_color);
    ui.wrapper.style.setProperty("--wc-primary", color);
    ui.wrapper.style.setProperty("--wc-on-primary", textColorOn(color));
    ui.title.textContent = c.title;
    ui.subtitle.textContent = c.name;
    ui.launcherLabel.textContent = c.title;
    // A real phone number becomes a tap-to-call link; the placeholder text does not.
    const phone = c.phone || "";
    if ((phone.match(/\d/g) || []).length >= 7) {
      ui.subtitle.append(" \u00b7 ");
      ui.subtitle.append(
        el("a", { href: "tel:" + phone.replace(/[^\d+]/g, ""), className: "wc-phone", text: phone })
      );
    }
  }

  function bubble(from) {
    const node = el("div", { className: "wc-msg wc-" + from }, [
      el("span", { className: "wc-sr", text: from === "user" ? "You said: " : "Assistant: " }),
    ]);
    ui.log.append(node);
    return node;
  }

  let lastBotBubble = null;

  // Advice for a warning sign happening now (`custom.urgency` from the server): an alert
  // with large tap-to-call buttons, announced at once by screen readers (role="alert").
  const URGENT_TITLES = {
    emergency: "Urgent: get help now",
    crisis: "Please reach out for support now",
    infection: "Urgent: call your clinic now",
  };

  function callButton(number, label) {
    return el("a", { className: "wc-call", href: "tel:" + number, text: label });
  }

  function urgentBubble(entry) {
    const urgency = URGENT_TITLES[entry.urgency] ? entry.urgency : "emergency";
    const node = el("div", { className: "wc-msg wc-bot wc-urgent wc-urgent-" + urgency }, [
      el("span", { className: "wc-sr", text: "Urgent message: " }),
    ]);
    node.setAttribute("role", "alert");
    node.append(
      el("p", { className: "wc-urgent-title" }, [
        el("span", { className: "wc-urgent-icon", "aria-hidden": "true", text: "\u26a0" }),
        el("span", { text: " " + URGENT_TITLES[urgency] }),
      ])
    );
    renderBotText(node, entry.text);
    const calls = el("div", { className: "wc-calls" });
    if (urgency === "crisis") calls.append(callButton("988", "Call or text 988"));
    if (urgency !== "infection") calls.append(callButton("911", "Call 911"));
    const phone = state.config.phone || "";
    if ((phone.match(/\d/g) || []).length >= 7) {
      calls.append(callButton(phone.replace(/[^\d+]/g, ""), "Call the clinic: " + phone));
    }
    if (urgency === "infection") calls.append(callButton("911", "Call 911"));
    node.append(calls);
    ui.log.append(node);
    return node;
  }

  // "Was this helpful?" under each answer (a reply with a source line). The vote goes to
  // the server as a `feedback` event with the answer's text, never as a message, and is
  // kept in the transcript so a reload shows it was given (bot/channels/feedback.py).
  function isAnswer(entry) {
    return entry.text.split(/\n{2,}/).some((part) => SOURCE_LINE.test(part.trim()));
  }

  function feedbackRow(entry) {
    const row = el("div", {
      className: "wc-feedback",
      role: "group",
      "aria-label": "Was this answer helpful?",
    });
    const thanks = () => {
      row.textContent = "";
      row.append(el("p", { className: "wc-feedback-thanks", text: "Thanks for your feedback." }));
    };
    if (entry.vote) {
      thanks();
      return row;
    }
    row.append(el("span", { className: "wc-feedback-label", text: "Helpful?" }));
    [
      ["up", "Yes"],
      ["down", "No"],
    ].forEach(([vote, label]) => {
      const button = el("button", {
        type: "button",
        className: "wc-vote wc-vote-" + vote,
        "aria-label": label + ", this answer was " + (vote === "up" ? "helpful" : "not helpful"),
        text: label,
      });
      button.addEventListener("click", () => {
        entry.vote = vote;
        saveTranscript();
        if (state.socket) {
          state.socket.emit("feedback", { vote, answer: entry.text, session_id: state.sessionId });
        }
        thanks();
        ui.input.focus();
      });
      row.append(button);
    });
    return row;
  }

  /** Draw one transcript entry; consecutive bot parts of one reply share a bubble. */
  function draw(entry) {
    if (entry.from === "user") {
      lastBotBubble = null;
      bubble("user").append(el("p", { text: entry.text }));
    } else if (entry.urgency) {
      urgentBubble(entry);
      lastBotBubble = null; // what follows gets a bubble of its own
    } else {
      if (!lastBotBubble) lastBotBubble = bubble("bot");
      renderBotText(lastBotBubble, entry.text);
      if (isAnswer(entry)) lastBotBubble.append(feedbackRow(entry));
    }
  }

  function scrollToLatest() {
    const target = lastBotBubble || ui.log.lastElementChild;
    if (!target) return;
    const top = target.offsetTop - 8;
    ui.log.scrollTop = lastBotBubble && top < ui.log.scrollHeight ? top : ui.log.scrollHeight;
  }

  function renderAll() {
    ui.log.textContent = "";
    lastBotBubble = null;
    const welcome = bubble("bot");
    welcome.classList.add("wc-welcome");
    renderBotText(welcome, state.config.welcome);
    state.transcript.forEach(draw);
    renderSuggestions();
    scrollToLatest();
  }

  function renderSuggestions() {
    const last = state.transcript[state.transcript.length - 1];
    let buttons = [];
    let label = "Follow-up questions";
    if (!last) {
      buttons = state.config.starters || [];
      label = "You could ask";
    } else if (last.from === "bot" && Array.isArray(last.buttons)) {
      buttons = last.buttons;
    }
    ui.chips.textContent = "";
    ui.suggestionsLabel.textContent = label;
    buttons.forEach((button) => {
      if (!button || !button.title) return;
      const chip = el("button", { type: "button", className: "wc-chip", text: button.title });
      chip.addEventListener("click", () => {
        send(button.payload || button.title, button.title);
        ui.input.focus();
      });
      ui.chips.append(chip);
    });
    ui.suggestions.hidden = ui.chips.childElementCount === 0;
  }

  function setStatus(text) {
    if (ui.status.textContent !== text) ui.status.textContent = text;
  }

  function setWaiting(waiting) {
    state.waiting = waiting;
    clearTimeout(state.replyTimer);
    ui.log.setAttribute("aria-busy", waiting ? "true" : "false");
    ui.panel.classList.toggle("wc-is-waiting", waiting);
    if (waiting) {
      state.replyTimer = setTimeout(() => {
        setWaiting(false);
        setStatus("No answer yet. Please try again, or call the clinic.");
      }, REPLY_TIMEOUT_MS);
    }
  }

  function setOpen(open, options) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    ui.wrapper.classList.toggle("wc-is-open", open);
    store.set("open", open ? "1" : "0");
    if (open) {
      scrollToLatest();
      if (!(options && options.keepFocus)) ui.input.focus();
    } else if (!(options && options.keepFocus)) {
      ui.launcher.focus();
    }
  }

  // ---- conversation
  function send(message, shownAs) {
    if (state.ready) setStatus("");
    state.transcript.push({ from: "user", text: shownAs });
    store.set("owner:" + state.sessionId, state.tab);
    saveTranscript();
    draw(state.transcript[state.transcript.length - 1]);
    renderSuggestions();
    scrollToLatest();
    setWaiting(true);
    state.queue.push(message);
    flush();
  }

  function flush() {
    // Only after session_confirm: a message sent before the room is joined would be
    // answered into a room this socket is not in yet, and the answer would be lost.
    while (state.ready && state.queue.length) {
      const message = state.queue.shift();
      state.socket.emit("user_uttered", { message, session_id: state.sessionId });
    }
  }

  function onBotMessage(data) {
    if (!data || typeof data.text !== "string") return;
    setWaiting(false);
    setStatus("");
    // With two tabs on one conversation both get every answer; the tab that asked
    // records it and the other redraws from the storage event.
    const owner = store.get("owner:" + state.sessionId);
    if (owner && owner !== state.tab) return;
    const buttons = (data.quick_replies || data.buttons || [])
      .filter((b) => b && b.title)
      .map((b) => ({ title: String(b.title), payload: String(b.payload || b.title) }));
    const entry = { from: "bot", text: data.text };
    if (buttons.length) entry.buttons = buttons;
    const urgency = data.custom && typeof data.custom.urgency === "string" ? data.custom.urgency : "";
    if (urgency) entry.urgency = urgency;
    state.transcript.push(entry);
    saveTranscript();
    draw(entry);
    renderSuggestions();
    scrollToLatest();
  }

  function onStorage(event) {
    if (!event.key || event.key.indexOf(STORE_PREFIX) !== 0) return;
    const key = event.key.slice(STORE_PREFIX.length);
    const previous = state.sessionId;
    if (key !== "session" && key !== "transcript:" + previous) return;
    // Another tab on this conversation got an answer, or restarted: follow it.
    loadSession();
    renderAll();
    if (state.sessionId !== previous) reconnect();
  }

  function restart() {
    store.remove(transcriptKey());
    store.remove("owner:" + state.sessionId);
    state.sessionId = randomId();
    store.set("session", state.sessionId);
    state.transcript = [];
    state.queue = [];
    setWaiting(false);
    renderAll();
    reconnect();
    setStatus("New conversation started.");
    ui.input.focus();
  }

  function reconnect() {
    // A new socket id joins only the new session's room, so late answers to the old
    // conversation cannot land in the new one.
    state.ready = false;
    if (state.socket) {
      state.socket.disconnect();
      state.socket.connect();
    }
  }

  function connect() {
    const socket = window.__spineFaqIo(SERVER, { path: "/socket.io" });
    state.socket = socket;
    socket.on("connect", () => {
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", (sessionId) => {
      const id = typeof sessionId === "string" ? sessionId : sessionId && sessionId.session_id;
      if (id !== state.sessionId) return; // an answer to an older request
      state.ready = true;
      if (ui.status.textContent.indexOf("Connect") === 0) setStatus("");
      flush();
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", (reason) => {
      state.ready = false;
      if (reason !== "io client disconnect") setStatus("Connection lost. Reconnecting\u2026");
    });
    socket.on("connect_error", () => {
      setStatus("Connecting to the assistant\u2026 (check your internet connection)");
    });
  }

  function loadSocketIo() {
    // Load the client without leaving it in the host page's global `io`.
    return new Promise((resolve, reject) => {
      const previous = window.io;
      const tag = document.createElement("script");
      tag.src = ASSET_BASE + "socket.io.min.js";
      tag.async = true;
      tag.onload = () => {
        window.__spineFaqIo = window.io;
        if (previous === undefined) delete window.io;
        else window.io = previous;
        if (typeof window.__spineFaqIo === "function") resolve();
        else reject(new Error("socket.io client did not load"));
      };
      tag.onerror = () => reject(new Error("socket.io client did not load"));
      document.head.append(tag);
    });
  }

  async function loadConfig() {
    try {
      const reply = await fetch(ASSET_BASE + "config.json", { cache: "no-cache" });
      if (reply.ok) Object.assign(state.config, await reply.json());
    } catch (e) {
      // Defaults keep the widget usable; the status line tells if the server is away.
    }
  }

  /** false when the server says this page may not use the chat (its origin is not allowed). */
  async function allowedHere() {
    try {
      const reply = await fetch(ASSET_BASE + "embed-check", { cache: "no-cache" });
      if (!reply.ok) return true;
      const answer = await reply.json();
      return answer.allowed !== false;
    } catch (e) {
      return true; // the server is away: the connection status will say so
    }
  }

  async function start() {
    build();
    loadSession();
    await loadConfig();
    applyConfig();
    renderAll();
    const open = store.get("open");
    setOpen(open === "1" || (open === null && script.dataset.open === "true"), { keepFocus: true });
    if (!(await allowedHere())) {
      setStatus("The chat is not available on this page. Please call the clinic.");
      ui.input.disabled = true;
      return;
    }
    try {
      await loadSocketIo();
      connect();
    } catch (e) {
      setStatus("The chat could not start. Please reload the page, or call the clinic.");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
