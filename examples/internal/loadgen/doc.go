// Package loadgen drives an HTTP endpoint the way different kinds of
// clients do, for the example load tests. A [Model] says how each client
// paces its requests: an open loop at a constant rate, or closed loops
// that send their next request as soon as they have an answer, that
// honour Retry-After, or that give up on slow answers.
//
// Every run is bounded: [Run] stops sending after its duration and waits
// for the requests in flight, each bounded by [Options].Timeout.
//
//	c := loadgen.NewClient(64)
//	defer c.CloseIdleConnections()
//	res, err := loadgen.Run(ctx, c, "http://127.0.0.1:8080/api/digest", 5*time.Second,
//		loadgen.Options{Model: loadgen.Retry, Clients: 64})
//	fmt.Println(res.Goodput(), res.Quantile(0.99))
package loadgen
