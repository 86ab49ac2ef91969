package httpx

// Flood puts o's admission rule in a flood, as if its queue had grown for
// floodWindows windows in a row, for benchmarks of the flood's paths.
func Flood(o *Offloader) { o.adm.flood.Store(true) }
