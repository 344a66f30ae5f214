// Basemap plumbing: without a PMTiles basemap there is nothing to register.
export async function registerBasemap() {}
