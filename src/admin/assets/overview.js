// course-sync overview: refreshes every [data-cell] and the alert list from /admin/api/overview
// every data-refresh seconds (set on <body>). Figures are written as text (textContent); the
// pictures are replaced by the SVG the server drew for them.
(function () {
  var seconds = Number(document.body.getAttribute('data-refresh')) || 10;
  async function refresh() {
    try {
      var r = await fetch('/admin/api/overview', {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!r.ok) return;
      var o = await r.json();
      document.querySelectorAll('[data-cell]').forEach(function (el) {
        var v = o.cells[el.getAttribute('data-cell')];
        if (v !== undefined) el.textContent = v;
      });
      // The pictures are SVG the server drew (every text in them escaped there).
      document.querySelectorAll('[data-chart]').forEach(function (el) {
        var svg = o.charts && o.charts[el.getAttribute('data-chart')];
        if (svg !== undefined) el.innerHTML = svg;
      });
      var ul = document.getElementById('alert-list');
      ul.textContent = '';
      o.alerts.forEach(function (a) {
        var li = document.createElement('li');
        li.textContent = a.text + ' (since ' + a.since + ')';
        ul.appendChild(li);
      });
    } catch (e) {}
  }
  setInterval(refresh, seconds * 1000);
})();
