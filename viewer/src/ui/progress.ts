/** The job progress box: a progress bar and a status line, driven by the JobView state machine. */
import { describeJobView, reduceJobView, type JobEvent, type JobView } from '../core/job-state.js';

export class ProgressBox {
  private view: JobView = { phase: 'idle' };

  constructor(
    private readonly root: HTMLElement,
    private readonly bar: HTMLProgressElement,
    private readonly status: HTMLElement,
  ) {
    this.draw();
  }

  get current(): JobView {
    return this.view;
  }

  dispatch(event: JobEvent): JobView {
    this.view = reduceJobView(this.view, event);
    this.draw();
    return this.view;
  }

  private draw(): void {
    const { text, progress } = describeJobView(this.view);
    this.root.dataset.phase = this.view.phase;
    this.root.hidden = this.view.phase === 'idle';
    this.status.textContent = text;
    if (progress === undefined) this.bar.removeAttribute('value');
    else this.bar.value = progress;
  }
}
