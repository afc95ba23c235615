// course-sync in bull-board: next to every link to a job, a "trace" link to the journey of the
// event behind it (/admin?q=<job id>: job ids are the events' idempotency keys).
(function () {
  var JOB = /^\/admin\/queues\/queue\/[^/]+\/([^/?#]+)/;
  function traceLink(jobId) {
    var a = document.createElement('a');
    a.className = 'cs-trace';
    a.href = '/admin?q=' + encodeURIComponent(jobId);
    a.textContent = ' trace';
    a.title = 'the journey of this event in course-sync';
    return a;
  }
  function decorate() {
    document.querySelectorAll('a[href^="/admin/queues/queue/"]').forEach(function (link) {
      var m = JOB.exec(link.getAttribute('href'));
      if (!m || link.dataset.csTrace) return;
      link.dataset.csTrace = '1';
      link.insertAdjacentElement('afterend', traceLink(decodeURIComponent(m[1])));
    });
    var page = JOB.exec(window.location.pathname);
    var header = document.querySelector('main h1, main h2, h1');
    if (page && header && !document.getElementById('cs-trace-page')) {
      var a = traceLink(decodeURIComponent(page[1]));
      a.id = 'cs-trace-page';
      a.textContent = ' → trace of this event';
      header.insertAdjacentElement('afterend', a);
    }
  }
  new MutationObserver(decorate).observe(document.documentElement, { childList: true, subtree: true });
  decorate();
})();
