"""Kubernetes: the manifests as a Kustomize tree, applied to a real cluster, the rollout followed.

Plain typed functions, no graph: ``kustomize`` (the tree, overlays, :func:`~.kustomize.render`),
``cluster`` (:func:`~.cluster.connect`, server-side apply, :func:`~.cluster.wait_rollout`),
``rollout`` (:func:`~.rollout.deploy_manifests`: apply, wait, answer or roll back;
:func:`~.rollout.undeploy_objects`), ``models`` (the data the session keeps). Import the module you
need: the session state imports only ``models``, so it never pays for the Kubernetes client.
"""
