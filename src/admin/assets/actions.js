// course-sync console actions: a button with data-api POSTs its data-body (JSON) there after
// confirming data-confirm, shows what the API answered in #result (text only), then refreshes the
// counts of the dead-letter groups (or goes to data-after). Same-origin fetch: the API's
// cross-site and content-type checks pass only for the console itself.
(function () {
  var result = document.getElementById('result');

  function say(text, bad) {
    if (!result) return;
    result.textContent = text;
    result.className = bad ? 'bad' : 'ok';
  }

  function describe(json) {
    if (json.error) return json.error;
    var parts = [];
    if (json.replayed !== undefined)
      parts.push('replayed ' + (Array.isArray(json.replayed) ? json.replayed.length : json.replayed));
    if (json.purged) parts.push('purged ' + json.purged.length);
    (json.notReplayed || []).forEach(function (n) {
      parts.push('not replayed ' + n.id + ': ' + n.reason);
    });
    (json.results || []).forEach(function (r) {
      if (r.status !== 'replayed') parts.push(r.id + ': ' + r.status + (r.reason ? ' (' + r.reason + ')' : ''));
    });
    if (json.status && json.status !== 'replayed') parts.push(json.status + (json.reason ? ': ' + json.reason : ''));
    if (json.status === 'replayed') parts.push('replayed as ' + json.key + ' (' + json.outcome + ')');
    return parts.join('; ') || 'done';
  }

  async function refreshGroups() {
    var cards = document.querySelectorAll('article.group');
    var queues = {};
    cards.forEach(function (c) {
      queues[c.getAttribute('data-queue')] = true;
    });
    for (var queue in queues) {
      var r = await fetch('/admin/api/dlq/' + encodeURIComponent(queue) + '/groups', {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!r.ok) continue;
      var counts = {};
      (await r.json()).groups.forEach(function (g) {
        counts[g.cause] = g.count;
      });
      cards.forEach(function (c) {
        if (c.getAttribute('data-queue') !== queue) return;
        var n = counts[c.getAttribute('data-cause')] || 0;
        c.querySelector('[data-count]').textContent = String(n);
        if (!n) c.classList.add('emptied');
      });
    }
  }

  document.addEventListener('click', async function (event) {
    var button = event.target.closest('button[data-api]');
    if (!button || button.disabled) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      var res = await fetch(button.dataset.api, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: button.dataset.body || '{}',
      });
      var json = await res.json().catch(function () {
        return {};
      });
      say(res.status + ': ' + describe(json), !res.ok);
      if (res.ok && button.dataset.after)
        window.setTimeout(function () {
          window.location.assign(button.dataset.after);
        }, 1500);
      else await refreshGroups();
    } catch (e) {
      say('failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  });
})();
