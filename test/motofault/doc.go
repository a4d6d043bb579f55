// Package motofault holds contract tests of the fault's own building blocks against moto_server, an
// independent implementation of the AWS APIs driven through the real SDK: the chaos copy of a task
// definition (pkg/taskdef), the restore and recover semantics of chaoslib/ecsimage, and the credential
// sources of pkg/awsclient (assumed role, web identity, mounted secret) through moto's STS and IAM.
//
// moto does not model task dynamics (see test/moto/README.md): where a full run cannot be checked against
// it, the tests check the contract at the level moto can, and assert the limitation by name.
package motofault
