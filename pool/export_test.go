package pool

// Cells returns the number of tasks in p's queue, abandoned ones included.
func Cells[In, Out any](p *Pool[In, Out]) int { return p.cells() }

// Gone returns the number of abandoned tasks still in p's queue.
func Gone[In, Out any](p *Pool[In, Out]) int64 { return p.gone.Load() }
