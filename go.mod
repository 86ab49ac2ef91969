module github.com/crewkit/crew

go 1.26

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/sourcegraph/conc v0.3.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
