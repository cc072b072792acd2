using Microsoft.Playwright;

namespace Microscope.Viewer.Tests;

/// <summary>Debian's chromium driven by Playwright (its own browser download cannot work
/// here: shared/docs/architecture.md), headless, one per test run.</summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private IPlaywright? _playwright;
    public IBrowser? Browser { get; private set; }

    /// <summary>Where the screenshots go: test-results/screenshots under the repository root.</summary>
    public static string ScreenshotFolder { get; } = Path.Combine(RepositoryRoot(), "test-results", "screenshots");

    // Launched on first use, so the HTTP tests of the same collection never depend on Chromium.
    private readonly SemaphoreSlim _launch = new(1, 1);

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<IBrowser> LaunchAsync()
    {
        await _launch.WaitAsync();
        try
        {
            if (Browser is not null) return Browser;
            if (!File.Exists(ExecutablePath))
                throw new InvalidOperationException($"{ExecutablePath} is missing: run scripts/install-deps.sh (apt-get install chromium)");
            Directory.CreateDirectory(ScreenshotFolder);
            _playwright = await Playwright.CreateAsync();
            return Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Timeout = 60_000,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
        }
        finally
        {
            _launch.Release();
        }
    }

    /// <summary>A fresh context and page with generous, bounded timeouts.</summary>
    public async Task<IPage> NewPageAsync(string baseUrl)
    {
        var browser = await LaunchAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl, ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        context.SetDefaultNavigationTimeout(30_000);
        return await context.NewPageAsync();
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        _launch.Dispose();
    }
}
