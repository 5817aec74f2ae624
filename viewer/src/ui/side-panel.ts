/**
 * The side panel: window/level presets, overlay settings, the structures (colour, visibility, opacity, volume in mL,
 * incomplete flag; clicking a name centres the views on it) and the lesions (clicking one centres the views on it).
 */
import type { LesionJson, StatsJson, StructureStats } from '../core/api-types.js';
import { cutDescription, formatVolume, lesionLine } from '../core/format.js';
import type { Vec3 } from '../core/geometry.js';
import { hexToRgb, rgbToHex, type LabelDisplay, type Rgb } from '../core/labels.js';
import { PRESETS, type PresetId, type WindowLevel } from '../core/window-level.js';
import { byId, el } from './dom.js';

export interface PanelHandlers {
  preset(id: PresetId): void;
  globalOpacity(opacity: number): void;
  outline(on: boolean): void;
  volumeRendering(on: boolean): void;
  labelVisible(value: number, visible: boolean): void;
  labelColor(value: number, color: Rgb): void;
  labelOpacity(value: number, opacity: number): void;
  allVisible(visible: boolean): void;
  centre(p: Vec3): void;
}

export class SidePanel {
  constructor(private readonly h: PanelHandlers) {
    const presets = byId('presets');
    presets.replaceChildren(...PRESETS.map((p) => el('button', { type: 'button', 'data-preset': p.id, title: p.value ? `window ${p.value.window}, level ${p.value.level}` : 'from the image histogram (1st–99th percentile)' }, p.label)));
    presets.addEventListener('click', (e) => {
      const id = (e.target as HTMLElement).closest<HTMLElement>('button[data-preset]')?.dataset.preset;
      if (id) h.preset(id as PresetId);
    });
    const opacity = byId<HTMLInputElement>('overlay-opacity');
    opacity.addEventListener('input', () => h.globalOpacity(Number(opacity.value) / 100));
    const outline = byId<HTMLInputElement>('overlay-outline');
    outline.addEventListener('change', () => h.outline(outline.checked));
    const vr = byId<HTMLInputElement>('volume-rendering');
    vr.addEventListener('change', () => h.volumeRendering(vr.checked));
    byId('show-all').addEventListener('click', () => h.allVisible(true));
    byId('hide-all').addEventListener('click', () => h.allVisible(false));
  }

  setWindowLevel(active: PresetId | undefined, wl: WindowLevel): void {
    for (const b of byId('presets').querySelectorAll<HTMLElement>('button[data-preset]')) b.classList.toggle('active', b.dataset.preset === active);
    byId('wl-readout').textContent = `W ${Math.round(wl.window)} / L ${Math.round(wl.level)}`;
  }

  /** One row per label: the display controls and, from stats.json, the volume and the incomplete flag. */
  setStructures(display: readonly LabelDisplay[], stats: StatsJson | undefined): void {
    const byLabel = new Map<number, StructureStats>((stats?.structures ?? []).map((s) => [s.label, s]));
    const rows = display.map((d) => this.structureRow(d, byLabel.get(d.value)));
    byId('structures-body').replaceChildren(...rows);
  }

  private structureRow(d: LabelDisplay, s: StructureStats | undefined): HTMLTableRowElement {
    const visible = el('input', { type: 'checkbox', class: 'visible', 'aria-label': `show ${d.name}`, checked: d.visible });
    visible.addEventListener('change', () => this.h.labelVisible(d.value, visible.checked));
    const colour = el('input', { type: 'color', class: 'colour', value: rgbToHex(d.color), 'aria-label': `colour of ${d.name}` });
    colour.addEventListener('input', () => this.h.labelColor(d.value, hexToRgb(colour.value)));
    const opacity = el('input', { type: 'range', class: 'opacity', min: 0, max: 100, value: Math.round(d.opacity * 100), 'aria-label': `opacity of ${d.name}` });
    opacity.addEventListener('input', () => this.h.labelOpacity(d.value, Number(opacity.value) / 100));
    const centroid = s?.centroidLps;
    const name = centroid ? el('button', { type: 'button', class: 'link centre', title: 'centre the views on it' }, d.name) : el('span', {}, d.name);
    if (centroid) name.addEventListener('click', () => this.h.centre([...centroid] as unknown as Vec3));
    const volume = s && s.voxels > 0 ? formatVolume(s.volumeMl, s.incomplete) : s ? 'absent' : '';
    const flag = s?.incomplete ? el('span', { class: 'flag incomplete', title: cutDescription(s) }, 'incomplete') : '';
    return el(
      'tr',
      { 'data-label': d.value, class: s?.incomplete ? 'incomplete' : undefined },
      el('td', {}, visible),
      el('td', {}, colour),
      el('td', { class: 'name' }, name, flag),
      el('td', { class: 'volume', title: s?.incomplete ? cutDescription(s) : '' }, volume),
      el('td', {}, opacity),
    );
  }

  /** Syncs the controls with the display state (after show all / hide all). */
  updateDisplay(display: readonly LabelDisplay[]): void {
    for (const d of display) {
      const row = byId('structures-body').querySelector<HTMLElement>(`tr[data-label="${d.value}"]`);
      const box = row?.querySelector<HTMLInputElement>('input.visible');
      if (box) box.checked = d.visible;
    }
  }

  setLesions(lesions: readonly LesionJson[], nameOf: (label: number) => string): void {
    const items = lesions.map((l) => {
      const b = el('button', { type: 'button', class: 'link lesion', 'data-label': l.label, 'data-index': l.index, title: 'centre the views on this lesion' }, lesionLine(l, l.name ?? nameOf(l.label)));
      b.addEventListener('click', () => this.h.centre([...l.centroidLps] as unknown as Vec3));
      return el('li', {}, b);
    });
    byId('lesions-list').replaceChildren(...items);
    byId('lesions-empty').hidden = lesions.length > 0;
  }

  setLoadInfo(lines: readonly string[]): void {
    byId('load-info').replaceChildren(...lines.map((l) => el('li', {}, l)));
  }
}
