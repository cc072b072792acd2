using Microsoft.Extensions.Configuration;
using System.Globalization;
using System.Text.RegularExpressions;
using static Microscope.Deploy.Tests.Yaml;

namespace Microscope.Deploy.Tests;

/// <summary>The deployment's invariants, each a function from a rendered overlay to the list of
/// what is wrong (empty when it holds), so a negative test can feed it a mutated copy.</summary>
public static class ManifestChecks
{
    /// <summary>Every variable a service's container receives, with where it comes from.</summary>
    public static Dictionary<string, (string Value, string From)> ProvidedVariables(RenderedOverlay overlay, FarmService service, List<string> problems)
    {
        var provided = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase);
        var container = ServiceContainer(overlay, service, problems);
        if (container is null) return provided;
        foreach (var source in Maps(container.GetValueOrDefault("envFrom")))
        {
            var (kind, reference) = At(source, "configMapRef") is { } c ? ("ConfigMap", c) : ("Secret", At(source, "secretRef"));
            var name = StrAt(reference, "name")!;
            var referenced = overlay.Find(kind, name);
            if (referenced is null) { problems.Add($"{overlay.Name}: {service.Name} takes envFrom {kind}/{name}, which does not exist"); continue; }
            foreach (var (key, value) in Map(At(referenced.Body, "data")) ?? [])
                if (!provided.TryAdd((string)key, (Str(value) ?? "", $"{kind}/{name}")))
                    problems.Add($"{overlay.Name}: {service.Name} gets {key} twice");
        }
        foreach (var env in Maps(container.GetValueOrDefault("env")))
        {
            var name = Str(env["name"])!;
            var from = At(env, "valueFrom", "secretKeyRef") is not null ? "Secret" : At(env, "valueFrom") is not null ? "field" : "env";
            provided[name] = (Str(env.GetValueOrDefault("value")) ?? "", from);
        }
        return provided;
    }

    public static Dictionary<object, object?>? ServiceContainer(RenderedOverlay overlay, FarmService service, List<string> problems)
    {
        var workload = overlay.Find(service.WorkloadKind, service.WorkloadName);
        if (workload is null) { problems.Add($"{overlay.Name}: no {service.WorkloadKind}/{service.WorkloadName} for the {service.Name}"); return null; }
        var container = Kustomize.Containers(workload).FirstOrDefault(c => Str(c["name"]) == service.ContainerName);
        if (container is null) problems.Add($"{overlay.Name}: {workload} has no container {service.ContainerName}");
        return container;
    }

    /// <summary>Every setting a service reads is provided, nothing else is, credentials come
    /// from Secrets, and the values pass the options' own validation.</summary>
    public static List<string> Settings(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        foreach (var service in ServiceSettings.All)
        {
            var provided = ProvidedVariables(overlay, service, problems);
            foreach (var setting in service.Settings.Where(s => !s.IsPrefix))
                if (!provided.ContainsKey(setting.EnvironmentName))
                    problems.Add($"{overlay.Name}: {service.Name} reads {setting.EnvironmentName}, which no ConfigMap, Secret or env entry provides");
            foreach (var (variable, (_, from)) in provided)
            {
                var setting = service.Settings.FirstOrDefault(s => s.Matches(variable));
                if (setting is null) { problems.Add($"{overlay.Name}: {service.Name} is given {variable} ({from}), which it does not read"); continue; }
                if (setting.IsSecret && !from.StartsWith("Secret", StringComparison.Ordinal))
                    problems.Add($"{overlay.Name}: {service.Name}'s {variable} is a credential but comes from {from}");
            }
            problems.AddRange(Validation(overlay, service, provided));
        }
        // Heartbeats keep a packet's lease: several must fit in one (docs/farm.md).
        var heartbeat = ProvidedVariables(overlay, ServiceSettings.Get("worker"), problems).GetValueOrDefault("MICROSCOPE_WORKER__HEARTBEATSECONDS").Value;
        var lease = ProvidedVariables(overlay, ServiceSettings.Get("coordinator"), problems).GetValueOrDefault("MICROSCOPE_COORDINATOR__LEASESECONDS").Value;
        if (int.TryParse(heartbeat, NumberStyles.None, CultureInfo.InvariantCulture, out var beat) && int.TryParse(lease, NumberStyles.None, CultureInfo.InvariantCulture, out var leaseSeconds)
            && beat * 4 > leaseSeconds)
            problems.Add($"{overlay.Name}: Worker:HeartbeatSeconds {beat} is not well under Coordinator:LeaseSeconds {leaseSeconds} (at least 4 heartbeats per lease)");
        var stall = ProvidedVariables(overlay, ServiceSettings.Get("coordinator"), problems).GetValueOrDefault("MICROSCOPE_COORDINATOR__STALLSECONDS").Value;
        if (beat > 0 && int.TryParse(stall, NumberStyles.None, CultureInfo.InvariantCulture, out var stallSeconds) && stallSeconds > 0 && beat * 4 > stallSeconds)
            problems.Add($"{overlay.Name}: Worker:HeartbeatSeconds {beat} is not well under Coordinator:StallSeconds {stallSeconds} (progress is seen only in heartbeats)");
        return problems;
    }

    /// <summary>The values bound as the services bind them and validated by the options classes.</summary>
    private static IEnumerable<string> Validation(RenderedOverlay overlay, FarmService service, Dictionary<string, (string Value, string From)> provided)
    {
        // A path on one of the container's volumes (a data set folder) exists only in the
        // cluster: it is validated there, so here it counts as unset.
        var container = ServiceContainer(overlay, service, []);
        var mounts = Maps(container?.GetValueOrDefault("volumeMounts")).Select(m => StrAt(m, "mountPath")).OfType<string>().Select(m => m.TrimEnd('/') + "/").ToList();
        bool OnVolume(string value) => mounts.Any(m => value.StartsWith(m, StringComparison.Ordinal));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(provided.Where(p => p.Key.StartsWith(Farm.Hosting.FarmConfiguration.EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
                .Select(p => KeyValuePair.Create(p.Key[Farm.Hosting.FarmConfiguration.EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal),
                    OnVolume(p.Value.Value) ? "" : (string?)p.Value.Value)))
            .Build();
        var types = service.Name switch
        {
            "coordinator" => ServiceSettings.CoordinatorSections,
            "worker" => ServiceSettings.WorkerSections,
            "migrate" => ServiceSettings.MigrateSections,
            _ => [],
        };
        // Weights files live on the cluster's volume, so their existence cannot be checked here.
        foreach (var type in types.Where(t => t != typeof(Farm.Hosting.ModelWeightsOptions)))
        {
            var section = (string)type.GetField("Section")!.GetValue(null)!;
            var options = configuration.GetSection(section).Get(type) ?? Activator.CreateInstance(type)!;
            foreach (var problem in ((Farm.Hosting.IValidatedOptions)options).Validate())
                yield return $"{overlay.Name}: {service.Name} would refuse to start: {section}: {problem}";
        }
    }

    /// <summary>Every container image is pinned by tag (not latest) or digest.</summary>
    public static List<string> Images(RenderedOverlay overlay) =>
        overlay.Objects.SelectMany(o => Kustomize.Containers(o).Select(c => (o, Image: Str(c.GetValueOrDefault("image")))))
            .Select(x => x.Image is null ? $"{overlay.Name}: {x.o} has a container without an image" : ImageReference.NotPinned(x.Image) is { } why ? $"{overlay.Name}: {x.o}: {why}" : null)
            .OfType<string>().ToList();

    /// <summary>HTTP services have liveness and readiness probes on the health endpoints at a
    /// port they declare; every container has CPU and memory requests and limits.</summary>
    public static List<string> ProbesAndResources(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        foreach (var name in new[] { "coordinator", "viewer" })
        {
            var service = ServiceSettings.Get(name);
            var container = ServiceContainer(overlay, service, problems);
            if (container is null) continue;
            var ports = Maps(container.GetValueOrDefault("ports")).SelectMany(p => new[] { Str(p.GetValueOrDefault("name")), Str(p.GetValueOrDefault("containerPort")) }).OfType<string>().ToHashSet();
            foreach (var (probe, path) in new[] { ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready") })
            {
                var get = At(container, probe, "httpGet");
                if (get is null) { problems.Add($"{overlay.Name}: {name} has no {probe} httpGet"); continue; }
                if (StrAt(get, "path") != path) problems.Add($"{overlay.Name}: {name}'s {probe} probes {StrAt(get, "path")}, not {path}");
                if (StrAt(get, "port") is not { } port || !ports.Contains(port)) problems.Add($"{overlay.Name}: {name}'s {probe} port {StrAt(get, "port")} is not a port of the container");
            }
        }
        foreach (var workload in overlay.Objects.Where(o => Kustomize.PodSpec(o) is not null))
            foreach (var container in Kustomize.Containers(workload))
                foreach (var level in new[] { "requests", "limits" })
                    foreach (var resource in new[] { "cpu", "memory" })
                        if (StrAt(container, "resources", level, resource) is null)
                            problems.Add($"{overlay.Name}: {workload} container {Str(container["name"])} has no resources.{level}.{resource}");
        return problems;
    }

    /// <summary>GPU workers ask for a GPU, run on GPU nodes and render on CUDA; CPU workers
    /// do neither. Which one an overlay runs is said by its Worker:Device.</summary>
    public static List<string> Gpu(RenderedOverlay overlay, bool expectGpu)
    {
        var problems = new List<string>();
        var worker = ServiceSettings.Get("worker");
        var container = ServiceContainer(overlay, worker, problems);
        if (container is null) return problems;
        var device = ProvidedVariables(overlay, worker, problems).GetValueOrDefault("MICROSCOPE_WORKER__DEVICE").Value ?? "";
        var gpuLimit = StrAt(container, "resources", "limits", "nvidia.com/gpu");
        var podSpec = Kustomize.PodSpec(overlay.Get("Deployment", "worker"))!;
        if (expectGpu)
        {
            if (!int.TryParse(gpuLimit, NumberStyles.None, CultureInfo.InvariantCulture, out var gpus) || gpus < 1)
                problems.Add($"{overlay.Name}: the worker has no nvidia.com/gpu limit");
            else if (gpus != 1) problems.Add($"{overlay.Name}: the worker asks for {gpus} GPUs; one worker process renders on one GPU");
            if (!device.StartsWith("cuda", StringComparison.Ordinal)) problems.Add($"{overlay.Name}: GPU workers render on '{device}', not cuda");
            if (At(podSpec, "nodeSelector") is null && At(podSpec, "affinity", "nodeAffinity") is null)
                problems.Add($"{overlay.Name}: GPU workers have no node selection");
            if (!Maps(At(podSpec, "tolerations")).Any(t => StrAt(t, "key") == "nvidia.com/gpu"))
                problems.Add($"{overlay.Name}: GPU workers do not tolerate the nvidia.com/gpu taint");
        }
        else
        {
            if (gpuLimit is not null) problems.Add($"{overlay.Name}: CPU workers ask for a GPU");
            if (device != "cpu") problems.Add($"{overlay.Name}: CPU workers render on '{device}', not cpu");
        }
        return problems;
    }

    /// <summary>Services select pods that exist and point at ports those pods declare; the
    /// Ingress points at a Service port; the services' own URLs agree with their ports and
    /// the in-cluster addresses they are given resolve to Services.</summary>
    public static List<string> Networking(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        var workloads = overlay.Objects.Where(o => Kustomize.PodLabels(o) is not null).ToList();
        foreach (var service in overlay.OfKind("Service"))
        {
            var selector = Map(At(service.Body, "spec", "selector")) ?? [];
            var pods = workloads.Where(w => selector.Count > 0 && selector.All(s => Equals(Kustomize.PodLabels(w)!.GetValueOrDefault(s.Key), s.Value))).ToList();
            if (pods.Count == 0) { problems.Add($"{overlay.Name}: {service} selects no workload"); continue; }
            var declared = pods.SelectMany(Kustomize.Containers).SelectMany(c => Maps(c.GetValueOrDefault("ports")))
                .SelectMany(p => new[] { Str(p.GetValueOrDefault("name")), Str(p.GetValueOrDefault("containerPort")) }).OfType<string>().ToHashSet();
            foreach (var port in Maps(At(service.Body, "spec", "ports")))
            {
                var target = StrAt(port, "targetPort") ?? StrAt(port, "port");
                if (target is null || !declared.Contains(target)) problems.Add($"{overlay.Name}: {service} targets port {target}, which its pods do not declare");
            }
        }
        foreach (var ingress in overlay.OfKind("Ingress"))
            foreach (var backend in Maps(At(ingress.Body, "spec", "rules")).SelectMany(r => Maps(At(r, "http", "paths"))).Select(p => At(p, "backend", "service")))
            {
                var name = StrAt(backend, "name");
                var service = name is null ? null : overlay.Find("Service", name);
                if (service is null) { problems.Add($"{overlay.Name}: {ingress} points at Service {name}, which does not exist"); continue; }
                var port = StrAt(backend, "port", "name") ?? StrAt(backend, "port", "number");
                if (!Maps(At(service.Body, "spec", "ports")).Any(p => StrAt(p, "name") == port || StrAt(p, "port") == port))
                    problems.Add($"{overlay.Name}: {ingress} uses port {port} of {service}, which it does not have");
            }
        // A service's listen URL matches its container port.
        foreach (var (name, variable) in new[] { ("coordinator", "MICROSCOPE_COORDINATOR__URLS"), ("viewer", "MICROSCOPE_VIEWER__URLS") })
        {
            var service = ServiceSettings.Get(name);
            var container = ServiceContainer(overlay, service, problems);
            var url = ProvidedVariables(overlay, service, problems).GetValueOrDefault(variable).Value;
            if (container is null || url is null) continue;
            var ports = Maps(container.GetValueOrDefault("ports")).Select(p => StrAt(p, "containerPort")).ToHashSet();
            foreach (var u in url.Split(';'))
                if (!Uri.TryCreate(u, UriKind.Absolute, out var parsed) || !ports.Contains(parsed.Port.ToString(CultureInfo.InvariantCulture)))
                    problems.Add($"{overlay.Name}: {name} listens on {u}, but its container declares ports {string.Join(", ", ports)}");
        }
        // In-cluster addresses the services are given resolve to a Service and one of its ports.
        foreach (var service in ServiceSettings.All)
            foreach (var (variable, host, port) in InClusterAddresses(overlay, service, problems))
            {
                var target = overlay.Find("Service", host);
                if (target is null) problems.Add($"{overlay.Name}: {service.Name}'s {variable} names host '{host}', which is not a Service");
                else if (port is not null && !Maps(At(target.Body, "spec", "ports")).Any(p => StrAt(p, "port") == port))
                    problems.Add($"{overlay.Name}: {service.Name}'s {variable} uses port {port} of Service {host}, which it does not have");
            }
        return problems;
    }

    /// <summary>The hosts without a domain (in-cluster Service names) in a service's settings.</summary>
    private static IEnumerable<(string Variable, string Host, string? Port)> InClusterAddresses(RenderedOverlay overlay, FarmService service, List<string> problems) =>
        from provided in ProvidedVariables(overlay, service, problems)
        from address in Addresses(provided.Value.Value)
        where !(address.Host.Contains('.', StringComparison.Ordinal) || address.Host is "localhost" or "0.0.0.0" || IPv4(address.Host))
        select (provided.Key, address.Host, address.Port);

    /// <summary>The coordinator's API, which has no authentication of its own, is closed by a
    /// NetworkPolicy; and every in-cluster address a service is given is still open to that
    /// service's pods under the policies that select the Service's pods.</summary>
    public static List<string> NetworkPolicies(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        var policies = overlay.OfKind("NetworkPolicy").Where(p => Seq(At(p.Body, "spec", "policyTypes")).Contains("Ingress")).ToList();
        var coordinator = overlay.Find("Deployment", ServiceSettings.Get("coordinator").WorkloadName);
        if (coordinator is not null && !policies.Any(p => Selects(At(p.Body, "spec", "podSelector"), Kustomize.PodLabels(coordinator))))
            problems.Add($"{overlay.Name}: no NetworkPolicy limits who may call the coordinator's API, which has no authentication of its own");
        foreach (var client in ServiceSettings.All)
        {
            var clientLabels = overlay.Find(client.WorkloadKind, client.WorkloadName) is { } w ? Kustomize.PodLabels(w) : null;
            foreach (var (variable, host, port) in InClusterAddresses(overlay, client, problems))
            {
                if (overlay.Find("Service", host) is not { } service) continue;   // Networking reports it
                var selector = Map(At(service.Body, "spec", "selector")) ?? [];
                var servicePort = Maps(At(service.Body, "spec", "ports")).FirstOrDefault(p => port is null || StrAt(p, "port") == port);
                var targetPort = StrAt(servicePort, "targetPort") ?? StrAt(servicePort, "port");
                foreach (var pods in overlay.Objects.Where(o => Kustomize.PodLabels(o) is { } l && selector.Count > 0 && Selects(new Dictionary<object, object?> { ["matchLabels"] = selector }, l)))
                {
                    var guarding = policies.Where(p => Selects(At(p.Body, "spec", "podSelector"), Kustomize.PodLabels(pods))).ToList();
                    if (guarding.Count == 0) continue;
                    var portNames = Kustomize.Containers(pods).SelectMany(c => Maps(c.GetValueOrDefault("ports")))
                        .Where(p => StrAt(p, "name") == targetPort || StrAt(p, "containerPort") == targetPort)
                        .SelectMany(p => new[] { StrAt(p, "name"), StrAt(p, "containerPort") }).OfType<string>().Append(targetPort).ToHashSet();
                    var admitted = guarding.SelectMany(p => Maps(At(p.Body, "spec", "ingress"))).Any(rule =>
                        (At(rule, "from") is null || Maps(At(rule, "from")).Any(peer => At(peer, "namespaceSelector") is null && At(peer, "ipBlock") is null && Selects(At(peer, "podSelector"), clientLabels)))
                        && (At(rule, "ports") is null || Maps(At(rule, "ports")).Any(p => portNames.Contains(StrAt(p, "port") ?? ""))));
                    if (!admitted)
                        problems.Add($"{overlay.Name}: {client.Name}'s {variable} calls {host}:{port ?? targetPort}, but the NetworkPolicies on {pods} do not admit the {client.Name}'s pods");
                }
            }
        }
        return problems;
    }

    /// <summary>Whether a label selector (matchLabels only; an empty one selects every pod) selects these labels.</summary>
    private static bool Selects(object? selector, Dictionary<object, object?>? labels)
    {
        if (labels is null) return false;
        if (At(selector, "matchExpressions") is not null) throw new NotSupportedException("matchExpressions in a selector: teach ManifestChecks.Selects to read them");
        return (Map(At(selector, "matchLabels")) ?? []).All(kv => Equals(labels.GetValueOrDefault(kv.Key), kv.Value));
    }

    private static bool IPv4(string host) => System.Net.IPAddress.TryParse(host, out _);

    /// <summary>Hosts and ports in a URL or an Npgsql connection string.</summary>
    public static IEnumerable<(string Host, string? Port)> Addresses(string value)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Host.Length > 0 && value.Contains("://", StringComparison.Ordinal))
        {
            yield return (uri.Host, uri.IsDefaultPort ? null : uri.Port.ToString(CultureInfo.InvariantCulture));
            yield break;
        }
        var host = Regex.Match(value, @"(?i)(?:^|;)\s*Host\s*=\s*([^;]+)");
        if (host.Success)
        {
            var port = Regex.Match(value, @"(?i)(?:^|;)\s*Port\s*=\s*(\d+)");
            yield return (host.Groups[1].Value.Trim(), port.Success ? port.Groups[1].Value : null);
        }
    }

    /// <summary>KEDA scales the worker Deployment on queues the worker consumes, through the
    /// management API (so busy messages count), with authentication that exists.</summary>
    public static List<string> Scaling(RenderedOverlay overlay, IReadOnlySet<string> consumedQueues, string workQueue)
    {
        var problems = new List<string>();
        var scaled = overlay.OfKind("ScaledObject").ToList();
        var forWorker = scaled.Where(s => StrAt(s.Body, "spec", "scaleTargetRef", "name") == "worker").ToList();
        if (forWorker.Count != 1) { problems.Add($"{overlay.Name}: {forWorker.Count} ScaledObjects target the worker, expected 1"); return problems; }
        var scaledObject = forWorker[0];
        if (overlay.Find("Deployment", "worker") is null) problems.Add($"{overlay.Name}: the ScaledObject's target Deployment/worker does not exist");
        var queues = new HashSet<string>();
        foreach (var trigger in Maps(At(scaledObject.Body, "spec", "triggers")))
        {
            if (StrAt(trigger, "type") != "rabbitmq") { problems.Add($"{overlay.Name}: a worker trigger of type {StrAt(trigger, "type")}"); continue; }
            var queue = StrAt(trigger, "metadata", "queueName") ?? "";
            queues.Add(queue);
            if (!consumedQueues.Contains(queue)) problems.Add($"{overlay.Name}: a trigger names queue '{queue}', which the worker does not consume ({string.Join(", ", consumedQueues)})");
            if (StrAt(trigger, "metadata", "protocol") != "http") problems.Add($"{overlay.Name}: the trigger on '{queue}' does not use protocol http (busy messages would not count)");
            if (StrAt(trigger, "metadata", "mode") is { } mode && mode != "QueueLength") problems.Add($"{overlay.Name}: the trigger on '{queue}' scales on {mode}, not QueueLength");
            var auth = StrAt(trigger, "authenticationRef", "name");
            var authentication = auth is null ? null : overlay.Find("TriggerAuthentication", auth);
            if (authentication is null) { problems.Add($"{overlay.Name}: the trigger on '{queue}' has no TriggerAuthentication ({auth})"); continue; }
            foreach (var reference in Maps(At(authentication.Body, "spec", "secretTargetRef")))
            {
                var secret = overlay.Find("Secret", StrAt(reference, "name") ?? "");
                if (secret is null) problems.Add($"{overlay.Name}: {authentication} reads Secret {StrAt(reference, "name")}, which does not exist");
                else if (StrAt(secret.Body, "data", StrAt(reference, "key") ?? "") is not { } value) problems.Add($"{overlay.Name}: Secret {secret.Name} has no key {StrAt(reference, "key")}");
                else
                    foreach (var (host, port) in Addresses(value).Where(a => !a.Host.Contains('.', StringComparison.Ordinal)))
                        if (overlay.Find("Service", host) is not { } target || (port is not null && !Maps(At(target.Body, "spec", "ports")).Any(p => StrAt(p, "port") == port)))
                            problems.Add($"{overlay.Name}: KEDA's management URL names {host}:{port}, which is not a Service port");
            }
        }
        if (!queues.Contains(workQueue)) problems.Add($"{overlay.Name}: no trigger on the work queue '{workQueue}'");
        // The coordinator keeps at most MaxInFlightPackets sweep packets queued or rendering, so
        // the queue length (and KEDA's replica count) never exceeds it.
        var inFlight = ProvidedVariables(overlay, ServiceSettings.Get("coordinator"), problems).GetValueOrDefault("MICROSCOPE_COORDINATOR__MAXINFLIGHTPACKETS").Value;
        var maxReplicas = StrAt(scaledObject.Body, "spec", "maxReplicaCount");
        if (int.TryParse(inFlight, NumberStyles.None, CultureInfo.InvariantCulture, out var packets) && int.TryParse(maxReplicas, NumberStyles.None, CultureInfo.InvariantCulture, out var replicas) && packets < replicas)
            problems.Add($"{overlay.Name}: Coordinator:MaxInFlightPackets {packets} < maxReplicaCount {replicas}: workers beyond {packets} would never get a packet");
        else if (maxReplicas is null) problems.Add($"{overlay.Name}: the ScaledObject sets no maxReplicaCount");
        return problems;
    }

    /// <summary>The worker's grace period outlasts the bus's stop timeout (the wait for the
    /// packet in hand before it is handed back), with a margin for the rest of the shutdown.</summary>
    public static List<string> Shutdown(RenderedOverlay overlay, TimeSpan workerStopTimeout, TimeSpan coordinatorShutdownTimeout, TimeSpan margin)
    {
        var problems = new List<string>();
        foreach (var (name, needed) in new[] { ("worker", workerStopTimeout + margin), ("coordinator", coordinatorShutdownTimeout + TimeSpan.FromSeconds(5)) })
        {
            var workload = overlay.Find("Deployment", name);
            if (workload is null) { problems.Add($"{overlay.Name}: no Deployment/{name}"); continue; }
            var grace = StrAt(Kustomize.PodSpec(workload), "terminationGracePeriodSeconds");
            if (!int.TryParse(grace, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                problems.Add($"{overlay.Name}: {name} sets no terminationGracePeriodSeconds");
            else if (TimeSpan.FromSeconds(seconds) < needed)
                problems.Add($"{overlay.Name}: {name}'s terminationGracePeriodSeconds {seconds} is shorter than the {needed.TotalSeconds} s its shutdown may take");
        }
        return problems;
    }

    /// <summary>Each long-running service has a PodDisruptionBudget that selects its pods.</summary>
    public static List<string> DisruptionBudgets(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        foreach (var name in new[] { "coordinator", "viewer", "worker" })
        {
            var labels = overlay.Find("Deployment", name) is { } d ? Kustomize.PodLabels(d) ?? [] : [];
            var budgets = overlay.OfKind("PodDisruptionBudget").Where(p =>
                Map(At(p.Body, "spec", "selector", "matchLabels")) is { Count: > 0 } match && match.All(m => Equals(labels.GetValueOrDefault(m.Key), m.Value)));
            if (!budgets.Any()) problems.Add($"{overlay.Name}: no PodDisruptionBudget selects the {name}'s pods");
        }
        return problems;
    }

    /// <summary>The schema is migrated by the Job when the coordinator does not migrate itself.</summary>
    public static List<string> Migration(RenderedOverlay overlay)
    {
        var problems = new List<string>();
        var migrate = ServiceSettings.Get("migrate");
        var container = ServiceContainer(overlay, migrate, problems);
        if (container is not null && (Seq(container.GetValueOrDefault("args")).FirstOrDefault() as string) != "migrate")
            problems.Add($"{overlay.Name}: the migrate Job does not run `microscope migrate`");
        var coordinatorImage = overlay.Find("Deployment", "coordinator") is { } c ? Str(Kustomize.Containers(c).First().GetValueOrDefault("image")) : null;
        if (container is not null && Str(container.GetValueOrDefault("image")) != coordinatorImage)
            problems.Add($"{overlay.Name}: the migrate Job runs {Str(container.GetValueOrDefault("image"))}, not the coordinator's image {coordinatorImage} (same schema version)");
        return problems;
    }
}
