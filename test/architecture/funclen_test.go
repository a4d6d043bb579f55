package architecture

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFunctionLines is the longest a production function may be, from its func line to its closing brace (the doc
// comment not counted): a newcomer reads a function in one screen.
const maxFunctionLines = 60

// TestFunctionsFitOnAScreen checks every function of the code that ships (experiment, chaoslib, pkg; tests and
// the test harnesses under test/ and bench/ excepted).
func TestFunctionsFitOnAScreen(t *testing.T) {
	checked := 0
	for _, root := range []string{"experiment", "chaoslib", "pkg"} {
		err := filepath.WalkDir(filepath.Join("..", "..", root), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range file.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				checked++
				if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFunctionLines {
					t.Errorf("%s: %s is %d lines, more than %d: split it into named steps", strings.TrimPrefix(path, "../../"), fn.Name.Name, n, maxFunctionLines)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 200 {
		t.Fatalf("only %d functions checked: the walk missed the code", checked)
	}
}
