// The browser wallet: this device's holder key, and presentations signed on the device.
//
// The key pair is made here with WebCrypto (ECDSA P-256, non-extractable: the private key can
// sign but can never be read out, not even by this script) and kept in IndexedDB, one per
// account on this browser. Only the public JWK is sent to the platform, which binds the
// credentials it issues to it (cnf.jwk). A presentation keeps the disclosures the holder
// ticked and ends with a key-binding JWT (typ kb+jwt: iat, aud, nonce, sd_hash) signed here,
// as RFC 9901 sections 4.3 and 4.3.1 lay out.
(function () {
  "use strict";
  var DB_NAME = "twonets-wallet";
  var STORE = "holder-keys";
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "account" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, act) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = act(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function loadKey(account) {
    return withStore("readonly", function (store) { return store.get(account); });
  }

  function saveKey(record) {
    return withStore("readwrite", function (store) { return store.put(record); });
  }

  function dropKey(account) {
    return withStore("readwrite", function (store) { return store.delete(account); });
  }

  function b64url(bytes) {
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromB64url(text) {
    var padded = text.replace(/-/g, "+").replace(/_/g, "/");
    padded += "===".slice((padded.length + 3) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sha256(text) {
    return crypto.subtle.digest("SHA-256", encoder.encode(text)).then(function (d) {
      return b64url(new Uint8Array(d));
    });
  }

  function problemOf(response) {
    return response.json().then(
      function (body) { throw new Error(body.detail || body.title || String(response.status)); },
      function () { throw new Error(String(response.status)); }
    );
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) { return response.ok ? response.json() : problemOf(response); });
  }

  // A new key pair for this account on this browser; the platform learns the public half only.
  function createKey(account, device) {
    var algorithm = { name: "ECDSA", namedCurve: "P-256" };
    return crypto.subtle.generateKey(algorithm, false, ["sign"]).then(function (pair) {
      return crypto.subtle.exportKey("jwk", pair.publicKey).then(function (full) {
        var jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
        return postJson("/wallet/keys", { jwk: jwk, device: device }).then(function (registered) {
          var record = {
            account: account,
            privateKey: pair.privateKey,
            jwk: jwk,
            keyId: registered.id,
            thumbprint: registered.thumbprint,
            device: registered.device,
          };
          return saveKey(record).then(function () { return record; });
        });
      });
    });
  }

  // The key of this browser, if the platform still lists it (a key removed on the keys page,
  // or on another device, is dropped here too).
  function currentKey(account) {
    return loadKey(account).then(function (record) {
      if (!record) return null;
      return fetch("/wallet/keys.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : problemOf(response); })
        .then(function (keys) {
          var listed = keys.some(function (k) { return k.id === record.keyId && k.thumbprint === record.thumbprint; });
          if (listed) return record;
          return dropKey(account).then(function () { return null; });
        });
    });
  }

  function disclosureName(disclosure) {
    var decoded = JSON.parse(decoder.decode(fromB64url(disclosure)));
    return decoded[1];
  }

  // An SD-JWT presentation of `credential` (issuer JWT ~ disclosures ~) showing only `names`,
  // with a KB-JWT over it signed by `privateKey`.
  function present(credential, names, audience, nonce, privateKey) {
    var parts = credential.split("~");
    var chosen = parts.slice(1, -1).filter(function (d) { return names.indexOf(disclosureName(d)) >= 0; });
    var presented = [parts[0]].concat(chosen).join("~") + "~";
    return sha256(presented).then(function (sdHash) {
      var header = { alg: "ES256", typ: "kb+jwt" };
      var payload = { iat: Math.floor(Date.now() / 1000), aud: audience, nonce: nonce, sd_hash: sdHash };
      var input = b64url(encoder.encode(JSON.stringify(header))) + "." + b64url(encoder.encode(JSON.stringify(payload)));
      // WebCrypto's ECDSA signature is r || s, 64 bytes: exactly what ES256 puts in a JWS.
      return crypto.subtle
        .sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, encoder.encode(input))
        .then(function (signature) { return presented + input + "." + b64url(new Uint8Array(signature)); });
    });
  }

  function say(box, state, extra) {
    box.querySelectorAll("[data-state]").forEach(function (el) { el.hidden = el.dataset.state !== state; });
    if (extra) box.querySelectorAll("[data-thumbprint]").forEach(function (el) { el.textContent = extra; });
  }

  function showError(box, message) {
    var out = box.querySelector("[data-wallet-error]");
    if (!out) return;
    out.textContent = message ? (box.dataset.failed || "") + " " + message : "";
    out.hidden = !message;
  }

  // A name the holder recognises on the keys page: "this browser · Android", say.
  function deviceName(prefix) {
    var platform = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "";
    return (prefix + (platform ? " · " + platform : "")).slice(0, 64);
  }

  function setUpLicence(box) {
    var account = box.dataset.account;
    var form = document.getElementById(box.dataset.form);
    var button = form ? form.querySelector("[data-sign]") : null;
    var result = document.getElementById(box.dataset.result);
    if (!window.crypto || !crypto.subtle || !window.indexedDB || !form || !button) {
      say(box, "unsupported");
      return;
    }
    var key = null;
    currentKey(account).then(function (found) {
      key = found;
      say(box, key ? "ready" : "none", key ? key.thumbprint.slice(0, 16) : "");
      button.hidden = false;
    }, function (error) { showError(box, error.message); });

    button.addEventListener("click", function () {
      var names = Array.prototype.map.call(form.querySelectorAll("input[name=disclose]:checked"), function (b) { return b.value; });
      var audience = form.elements.namedItem("audience").value.trim();
      var nonce = form.elements.namedItem("nonce").value.trim();
      if (!audience || !nonce) {
        showError(box, box.dataset.needs || "");
        return;
      }
      showError(box, "");
      button.disabled = true;
      var ready = key ? Promise.resolve(key) : createKey(account, deviceName(box.dataset.device || "browser"));
      ready
        .then(function (record) {
          key = record;
          say(box, "ready", record.thumbprint.slice(0, 16));
          return postJson("/wallet/" + box.dataset.licence + "/credential", { holder_key_id: record.keyId });
        })
        .then(function (answer) { return present(answer.credential, names, audience, nonce, key.privateKey); })
        .then(function (presentation) {
          var labels = Array.prototype.map.call(
            form.querySelectorAll("input[type=checkbox]:checked"),
            function (b) { return b.closest("label").dataset.label || b.closest("label").textContent.trim(); }
          );
          result.querySelector("[data-reveals]").textContent = labels.length ? labels.join(box.dataset.separator || ", ") : (box.dataset.nothing || "—");
          result.querySelector("[data-for]").textContent = audience;
          result.querySelector("[data-nonce]").textContent = nonce;
          result.querySelector("textarea").value = presentation;
          result.hidden = false;
          result.scrollIntoView({ block: "nearest" });
        })
        .catch(function (error) { showError(box, error.message); })
        .then(function () { button.disabled = false; });
    });
  }

  function setUpKeysPage(list) {
    loadKey(list.dataset.account).then(function (record) {
      if (!record) return;
      list.querySelectorAll("[data-key-thumbprint]").forEach(function (row) {
        if (row.dataset.keyThumbprint === record.thumbprint) {
          var mark = row.querySelector("[data-this-device]");
          if (mark) mark.hidden = false;
        }
      });
    });
  }

  document.querySelectorAll("[data-holder-wallet]").forEach(setUpLicence);
  document.querySelectorAll("[data-holder-keys]").forEach(setUpKeysPage);
})();
