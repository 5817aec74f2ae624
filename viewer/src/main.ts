/**
 * The viewer page: the start page (upload, models, recent jobs) at `/`, a job's result at `/?job=<id>`.
 * Navigation between them stays in the page (history API); a reload of either address shows the same thing.
 */
import { Api } from './api.js';
import { installHook } from './automation-hook.js';
import { bindBanner, errorMessage, showBanner } from './ui/banner.js';
import { byId } from './ui/dom.js';
import { jobUrl, StartPage } from './ui/start-page.js';
import { SessionTokenStore } from './ui/token.js';
import { reportOpenError, ViewerApp } from './viewer-app.js';

const tokens = new SessionTokenStore();
const api = new Api(tokens);
let viewer: ViewerApp | undefined;

function route(): void {
  const jobId = new URLSearchParams(location.search).get('job');
  byId('start-page').hidden = !!jobId;
  byId('viewer-page').hidden = !jobId;
  if (!jobId) {
    byId('job-title').textContent = '';
    void start.show();
    return;
  }
  try {
    viewer?.dispose();
    viewer = new ViewerApp(api);
    installHook(viewer);
    viewer.open(jobId).catch(reportOpenError);
  } catch (e) {
    reportOpenError(e);
  }
}

function openJob(id: string): void {
  // The start page already put a followed job's address in the bar: replace it rather than add a duplicate entry.
  if (location.search === jobUrl(id)) history.replaceState(null, '', jobUrl(id));
  else history.pushState(null, '', jobUrl(id));
  route();
}

bindBanner();
byId('token-button').addEventListener('click', () => {
  void tokens.dialog('Enter the token the server was started with (--token or MEDSEG_TOKEN), or leave it empty for a server without one.').then(() => location.reload());
});
const start = new StartPage(api, openJob);
window.addEventListener('popstate', () => location.reload());
window.addEventListener('unhandledrejection', (e) => showBanner('error', `Unexpected error: ${errorMessage(e.reason)}`));
route();
