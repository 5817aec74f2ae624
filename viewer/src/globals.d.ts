/** Replaced at build time (viewer/build.mjs `define`): the hashed file name of the surface worker bundle. */
declare const MEDSEG_SURFACE_WORKER: string;
