/**
 * The start page: upload a study (NIfTI file, DICOM files or folder, or zips), pick a model, watch the job, open
 * the result; and the list of recent jobs, each openable by its URL (?job=<id>).
 */
import { ApiError, type Api } from '../api.js';
import type { JobJson, ModelJson } from '../core/api-types.js';
import { formatDuration } from '../core/job-state.js';
import { errorMessage, showBanner } from './banner.js';
import { byId, el } from './dom.js';
import { ProgressBox } from './progress.js';

/** The page URL that opens a job. */
export function jobUrl(id: string): string {
  return `?job=${encodeURIComponent(id)}`;
}

export class StartPage {
  private readonly progress = new ProgressBox(byId('job-progress'), byId<HTMLProgressElement>('job-progress-bar'), byId('job-status'));
  private busy = false;

  constructor(
    private readonly api: Api,
    private readonly open: (jobId: string) => void,
  ) {
    byId<HTMLFormElement>('upload-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    byId('jobs-refresh').addEventListener('click', () => void this.loadJobs());
  }

  async show(): Promise<void> {
    byId('start-page').hidden = false;
    await Promise.all([this.loadModels(), this.loadJobs()]);
  }

  private async loadModels(): Promise<void> {
    const select = byId<HTMLSelectElement>('model-select');
    try {
      const models = await this.api.models();
      select.replaceChildren(...models.map((m) => this.modelOption(m)));
      const first = models.find((m) => m.available);
      if (first) select.value = first.name;
      byId('upload-form').dataset.models = 'ready';
    } catch (e) {
      showBanner('error', `Could not list the models: ${errorMessage(e)}`);
    }
  }

  private modelOption(m: ModelJson): HTMLOptionElement {
    const labels = m.labels.map((l) => l.name).join(', ');
    return el('option', { value: m.name, disabled: !m.available, title: m.description ?? labels }, `${m.name} ${m.version}${m.available ? '' : ' (not installed)'} — ${m.labels.length} labels`);
  }

  async loadJobs(): Promise<void> {
    const body = byId('jobs-body');
    try {
      const jobs = await this.api.jobs(20);
      body.replaceChildren(...jobs.map((j) => this.jobRow(j)));
      byId('jobs-empty').hidden = jobs.length > 0;
    } catch (e) {
      body.replaceChildren();
      byId('jobs-empty').hidden = false;
      byId('jobs-empty').textContent = e instanceof ApiError && e.status === 404 ? 'This server does not list jobs; open one by its URL (?job=<id>).' : `Could not list the jobs: ${errorMessage(e)}`;
    }
  }

  private jobRow(j: JobJson): HTMLTableRowElement {
    const when = new Date(j.createdAt);
    const status = j.status === 'running' ? `running ${Math.floor(j.progress * 100)} %${j.etaSeconds !== null ? `, ${formatDuration(j.etaSeconds)} left` : ''}` : j.status;
    const open = el('a', { href: jobUrl(j.id), class: 'job-open' }, j.status === 'succeeded' ? 'Open' : 'Follow');
    return el('tr', { 'data-job': j.id, 'data-status': j.status }, el('td', {}, when.toLocaleString()), el('td', {}, j.model), el('td', { class: `status status-${j.status}` }, status, j.error ? el('span', { class: 'job-error', title: j.error.message }, ` (${j.error.code})`) : ''), el('td', {}, open));
  }

  private selectedFiles(): File[] {
    const files = [...(byId<HTMLInputElement>('scan-files').files ?? [])];
    const folder = [...(byId<HTMLInputElement>('scan-folder').files ?? [])];
    return [...files, ...folder];
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const files = this.selectedFiles();
    const model = byId<HTMLSelectElement>('model-select').value;
    if (files.length === 0) {
      this.progress.dispatch({ type: 'error', code: 'NO_FILES', message: 'Choose a NIfTI file, DICOM files, a DICOM folder or a zip first' });
      return;
    }
    if (!model) {
      this.progress.dispatch({ type: 'error', code: 'NO_MODEL', message: 'No installed model to run: add a model card and its ONNX file to the server' });
      return;
    }
    this.busy = true;
    byId<HTMLButtonElement>('segment-button').disabled = true;
    try {
      this.progress.dispatch({ type: 'upload-started', totalBytes: files.reduce((a, f) => a + f.size, 0) });
      const study = await this.api.uploadStudy(files, (loadedBytes, totalBytes) => this.progress.dispatch({ type: 'upload-progress', loadedBytes, totalBytes }));
      this.progress.dispatch({ type: 'upload-done', studyId: study.id });
      const job = await this.api.createJob(study.id, model);
      this.progress.dispatch({ type: 'job', job });
      // The address now names the job: a reload follows it from the job's own page.
      history.replaceState(null, '', jobUrl(job.id));
      const done = await this.api.followJob(job.id, (j) => this.progress.dispatch({ type: 'job', job: j }));
      void this.loadJobs();
      if (done.status === 'succeeded') this.open(done.id);
    } catch (e) {
      this.progress.dispatch({ type: 'error', code: e instanceof ApiError ? e.code : 'ERROR', message: errorMessage(e) });
    } finally {
      this.busy = false;
      byId<HTMLButtonElement>('segment-button').disabled = false;
    }
  }
}
